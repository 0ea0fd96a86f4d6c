package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/simcustomer"
)

// TestBackupMidFlowRestoreAndFinish: a customer stops at the TOTP code
// prompt (SMS 2FA already disabled, the enrollment pending); `guidedfix
// backup` takes a backup through the running serve's admin endpoint; serve
// stops and its data directory is deleted; the backup (and the key, kept
// apart) is restored into a new directory as README says; a new serve on it
// takes the customer's code and the flow finishes with the app active.
func TestBackupMidFlowRestoreAndFinish(t *testing.T) {
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot, MaxPoll: time.Second})
	t.Cleanup(fake.Close)
	first := startOpsServe(t, fake, nil)
	backupDir := filepath.Join(t.TempDir(), "backup")
	atCode := make(chan struct{})
	resume := make(chan struct{})
	c := &simcustomer.Customer{Fake: fake, User: fakebotapi.User{ID: 7002, FirstName: "Bo", LanguageCode: "en"},
		Email: first.acc.email, Password: first.acc.password, Phone: first.acc.phone,
		SMS: &simcustomer.SMSInbox{Dir: filepath.Join(first.dir, "outbox", "sms")}, Timeout: 90 * time.Second,
		Stall: 30 * time.Second,
		BeforeInput: func(kind string) {
			if kind == "totp" {
				close(atCode)
				<-resume
			}
		}}
	done := make(chan error, 1)
	go func() { _, err := c.Run(context.Background()); done <- err }()
	select {
	case <-atCode:
	case err := <-done:
		t.Fatalf("the customer finished before the code prompt: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the customer never reached the code prompt")
	}

	// The backup, while serve runs: through the ops listener.
	t.Setenv("GUIDEDFIX_OPS__LISTEN", strings.TrimPrefix(first.base, "http://"))
	var out bytes.Buffer
	if err := runBackup(context.Background(), &out, &globalFlags{dataDir: first.dir}, backupDir); err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	want := "The running serve made the copies (asked at ops.listen " + strings.TrimPrefix(first.base, "http://") + ").\n"
	for _, f := range backupFiles {
		want += "wrote " + filepath.Join(backupDir, f) + "\n"
	}
	want += fmt.Sprintf("The portal key is not in the backup: it is %s; keep a copy apart from the backup.\n", filepath.Join(first.dir, "portal.key"))
	if out.String() != want {
		t.Fatalf("backup said %q\nwant %q", out.String(), want)
	}
	first.stop()

	// Restore (README "Backup and restore"): the three files and the key
	// into an empty data directory.
	restored := t.TempDir()
	for _, f := range backupFiles {
		copyFile(t, filepath.Join(backupDir, f), filepath.Join(restored, f))
	}
	copyFile(t, filepath.Join(first.dir, "portal.key"), filepath.Join(restored, "portal.key"))
	if err := os.RemoveAll(first.dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GUIDEDFIX_OPS__LISTEN", "127.0.0.1:0")
	second := serveOn(t, restored, fake, nil)
	close(resume)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the flow did not finish on the restored data: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the flow did not finish on the restored data")
	}
	m := scrape(t, second.base, "guidedfix_flows_finished_total")
	if got := m[`guidedfix_flows_finished_total{channel="telegram",flow="totpswitch",outcome="completed"}`]; got != 1 {
		t.Fatalf("completed flows on the restored server = %v (%v)", got, m)
	}
	second.stop()

	// Offline: with serve stopped, backup opens the files itself.
	t.Setenv("GUIDEDFIX_OPS__LISTEN", "off")
	out.Reset()
	again := filepath.Join(t.TempDir(), "again")
	if err := runBackup(context.Background(), &out, &globalFlags{dataDir: restored}, again); err != nil {
		t.Fatalf("offline backup: %v", err)
	}
	for _, f := range backupFiles {
		if st, err := os.Stat(filepath.Join(again, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st, err)
		}
	}
	// Never into the data directory itself.
	err := runBackup(context.Background(), &out, &globalFlags{dataDir: restored}, restored)
	if want := "backup directory: " + restored + " is the data directory: choose another directory"; err == nil || err.Error() != want {
		t.Fatalf("backup into the data directory: %v, want %q", err, want)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBackupDirOutsideDataDirAndOpsAddressNamed: a backup directory inside
// the data directory (directly, or through a symbolic link, created or
// not) is refused with the reason and nothing is created; a sibling whose
// name merely starts like it is fine. With nothing listening at ops.listen
// the command says which address it asked before copying the files itself.
func TestBackupDirOutsideDataDirAndOpsAddressNamed(t *testing.T) {
	dataDir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := ln.Addr().String()
	ln.Close()
	t.Setenv("GUIDEDFIX_OPS__LISTEN", silent)
	g := &globalFlags{dataDir: dataDir}
	var out bytes.Buffer

	inside := filepath.Join(dataDir, "backups", "today")
	err = runBackup(context.Background(), &out, g, inside)
	want := "backup directory: " + inside + " is inside the data directory " + dataDir + ": choose a directory outside it (a backup there is lost with the data directory)"
	if err == nil || err.Error() != want {
		t.Fatalf("backup into a subfolder: %v\nwant %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "backups")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused backup created %s (%v)", filepath.Join(dataDir, "backups"), err)
	}
	link := filepath.Join(t.TempDir(), "data-link")
	if err := os.Symlink(dataDir, link); err != nil {
		t.Fatal(err)
	}
	if err := runBackup(context.Background(), &out, g, filepath.Join(link, "b")); err == nil || !strings.Contains(err.Error(), "is inside the data directory") {
		t.Fatalf("backup into the data directory through a link: %v", err)
	}
	if out.Len() != 0 {
		t.Fatalf("a refused backup printed %q", out.String())
	}

	sibling := dataDir + "-backup"
	t.Cleanup(func() { os.RemoveAll(sibling) })
	if err := runBackup(context.Background(), &out, g, sibling); err != nil {
		t.Fatalf("backup into the sibling %s: %v", sibling, err)
	}
	want = "No serve answered at ops.listen " + silent + ": copying the databases of " + dataDir + " directly.\n"
	for _, f := range backupFiles {
		want += "wrote " + filepath.Join(sibling, f) + "\n"
	}
	if got, _, _ := strings.Cut(out.String(), "The portal key"); got != want {
		t.Fatalf("backup said %q\nwant %q", out.String(), want)
	}
}

func TestOpsDialAddr(t *testing.T) {
	for in, want := range map[string]string{
		"off": "", "": "", "127.0.0.1:9464": "127.0.0.1:9464", ":9464": "127.0.0.1:9464",
		"0.0.0.0:9464": "127.0.0.1:9464", "[::]:9464": "[::1]:9464", "[::1]:9464": "[::1]:9464",
		"10.0.0.5:9464": "10.0.0.5:9464", "localhost:9464": "localhost:9464",
	} {
		if got := opsDialAddr(in); got != want {
			t.Errorf("opsDialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
