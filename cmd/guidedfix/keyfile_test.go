package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/store"
)

// TestPortalListRefusesMissingKey (fixcore item 1): a data directory whose
// portal.db holds an account but whose portal.key was deleted makes
// `guidedfix portal list` fail with ErrKeyFileMissing naming the key file,
// and writes no new key.
func TestPortalListRefusesMissingKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_FLOW__ORDER", "disable-then-enroll")
	if out, err := runCLI(t, "a-long-password\n", "portal", "add-account", "--data-dir", dir,
		"--email", "keep@example.com", "--phone", "+60123456789", "--2fa", "sms"); err != nil {
		t.Fatalf("add-account: %v\n%s", err, out)
	}
	keyFile := filepath.Join(dir, "portal.key")
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "", "portal", "list", "--data-dir", dir)
	if !errors.Is(err, embedded.ErrKeyFileMissing) || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("portal list without key: %v, want ErrKeyFileMissing naming %s\n%s", err, keyFile, out)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("key file after refused list: %v, want none written", err)
	}
}

// TestSessionsKeyNotRecreatedOverHeldUpdates (fixcore item 1): with a
// remote portal, a missing sessions.key next to a sessions.db holding a
// sealed update is refused (errSessionsKeyMissing naming the key file) and
// no key is written; with no held update a key is created (32 bytes).
func TestSessionsKeyNotRecreatedOverHeldUpdates(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, sessionsKeyFile)
	a := &app{} // no embedded core: the remote-portal path
	k1, err := derivedKey(a, dir, store.InboxKeyPurpose)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Path: filepath.Join(dir, "sessions.db"), InboxKey: k1})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Hold(context.Background(), "telegram", []bot.Inbound{{ID: 7, Raw: []byte(`{"update_id":7}`)}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	_, err = derivedKey(a, dir, store.InboxKeyPurpose)
	if !errors.Is(err, errSessionsKeyMissing) || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("derivedKey over a held update: %v, want errSessionsKeyMissing naming %s", err, keyFile)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("sessions.key after refusal: %v, want none written", err)
	}

	// Released: nothing is sealed any more, a new key may be made.
	st, err = store.Open(store.Options{Path: filepath.Join(dir, "sessions.db"), InboxKey: k1})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Release(context.Background(), "telegram", 7); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := derivedKey(a, dir, store.InboxKeyPurpose); err != nil {
		t.Fatalf("derivedKey with no held update: %v", err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Size() != 32 {
		t.Fatalf("new sessions.key: %v %v", fi, err)
	}
}

// TestAddAccountCLINormalizesEmail (fixcore item 2): `portal add-account`
// refuses the full-width twin of an existing address (already exists) and
// a 250-byte local part, leaving one account.
func TestAddAccountCLINormalizesEmail(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_FLOW__ORDER", "disable-then-enroll")
	add := func(email string) error {
		_, err := runCLI(t, "a-long-password\n", "portal", "add-account", "--data-dir", dir,
			"--email", email, "--phone", "+60123456789", "--2fa", "sms")
		return err
	}
	if err := add("alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := add("ａｌｉｃｅ@example.com"); !errors.Is(err, embedded.ErrExists) {
		t.Fatalf("full-width twin: %v, want ErrExists", err)
	}
	if err := add(strings.Repeat("l", 250) + "@example.com"); !errors.Is(err, embedded.ErrInvalidAccount) {
		t.Fatalf("250-byte local part: %v, want ErrInvalidAccount", err)
	}
	core, _ := openAccount(t, dir, "alice@example.com")
	defer core.Close()
	if accs, err := core.ListAccounts(context.Background()); err != nil || len(accs) != 1 {
		t.Fatalf("accounts: %d %v, want 1", len(accs), err)
	}
}
