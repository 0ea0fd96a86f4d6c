package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"go.etcd.io/bbolt"

	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
	"guidedfix/internal/procstat"
)

// nullMail accepts every message and keeps none.
type nullMail struct{}

func (nullMail) Send(context.Context, mail.Message) error { return nil }

// pagesWritten returns how many pages bbolt wrote for c's commits.
func pagesWritten(c *Core) int64 {
	st := c.db.Stats()
	return st.TxStats.GetWrite()
}

// BenchmarkSwitchFlowCore runs the core's part of the SMS → authenticator
// app switch (the calls totpswitch makes in its default order: lookup,
// status, password, SMS challenge sent and verified, enrollment begun and
// confirmed) for one fresh account per iteration, one flow after the
// other (so that every operation is its own commit, as at low load, and
// the figures repeat), on a database holding 500 other accounts that
// went through it already (their challenges, enrollments, audit and
// outbox records in place) and 500 that stopped after the password (their
// grants left, as abandoned flows leave them), with the loadgen's lowered argon2id cost
// (m=64 KiB, t=1). Besides ns/op (fsync-bound wall time) and the
// allocations it reports the commits and the pages bbolt wrote per flow
// (both exact) and the process's CPU time per flow, user and system
// (fsync's and pwrite's kernel time) apart (both noisy on a shared
// machine: compare the lowest of several runs): the core's share of
// cmd/loadgen's "server CPU per user turn".
func BenchmarkSwitchFlowCore(b *testing.B) {
	dir := b.TempDir()
	clock := portaltest.NewClock(time.Now().UTC().Truncate(time.Second))
	sms := &portaltest.SMSRecorder{}
	c, err := Open(Options{
		Path: filepath.Join(dir, "portal.db"), KeyFile: filepath.Join(dir, "portal.key"),
		Mail: nullMail{}, SMS: sms, Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
		Argon2: Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	const password = "pw-bench-Secret!"
	const warm, abandoned = 500, 500
	accounts := make([]portal.Account, warm+abandoned+b.N)
	for i := range accounts {
		a, err := c.AddAccount(ctx, NewAccount{Email: fmt.Sprintf("bench-%d@example.com", i), Name: "Bench",
			Phone: fmt.Sprintf("+6012%07d", i), Method: portal.MethodSMS, Password: password})
		if err != nil {
			b.Fatal(err)
		}
		accounts[i] = a
	}
	flow := func(a portal.Account) error {
		acc, err := c.LookupAccount(ctx, a.Email)
		if err != nil {
			return err
		}
		if _, err := c.SecurityStatus(ctx, acc.ID); err != nil {
			return err
		}
		g, err := c.VerifyPassword(ctx, acc.ID, password)
		if err != nil {
			return err
		}
		ch, err := c.SendSMSChallenge(ctx, g.Token, "sms-"+acc.ID)
		if err != nil {
			return err
		}
		code, _ := sms.LastCode(acc.Phone)
		g, err = c.VerifySMSChallenge(ctx, g.Token, ch.ID, code)
		if err != nil {
			return err
		}
		en, err := c.BeginTOTPEnrollment(ctx, g.Token, "begin-"+acc.ID)
		if err != nil {
			return err
		}
		totpCode, err := totp.GenerateCodeCustom(en.Secret, clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return err
		}
		return c.ConfirmTOTPEnrollment(ctx, en.ID, totpCode, "confirm-"+acc.ID)
	}
	for _, a := range accounts[:warm] {
		if err := flow(a); err != nil {
			b.Fatal(err)
		}
	}
	for _, a := range accounts[warm : warm+abandoned] {
		if _, err := c.VerifyPassword(ctx, a.ID, password); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	next.Store(warm + abandoned)
	b.ReportAllocs()
	commits0, pages0 := c.writes.Stats().Commits, pagesWritten(c)
	user0, sys0, err := procstat.CPU()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := flow(accounts[next.Add(1)-1]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	user, sys, err := procstat.CPU()
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	b.ReportMetric(float64(c.writes.Stats().Commits-commits0)/n, "commits/flow")
	b.ReportMetric(float64(pagesWritten(c)-pages0)/n, "pages-written/flow")
	b.ReportMetric(float64((user-user0).Microseconds())/float64(b.N), "user-µs/flow")
	b.ReportMetric(float64((sys-sys0).Microseconds())/float64(b.N), "sys-µs/flow")
}

// errRollback ends a benchmark's transaction without a commit.
var errRollback = errors.New("rollback")

// BenchmarkRevokeGrants measures revokeGrants for an account with one
// grant among 500 other accounts' grants (the live and abandoned flows of
// a loaded server), in a transaction rolled back (no page written, no
// fsync): the scan ConfirmTOTPEnrollment pays at every activation.
func BenchmarkRevokeGrants(b *testing.B) {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "grants.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucket(bGrants); err != nil {
			return err
		}
		for i := range 501 {
			g := grantRec{AccountID: newID("acc"), Level: portal.LevelElevated, ExpiresAt: now, ProvedAt: now, Source: fmt.Sprintf("telegram:%d", 100000+i)}
			if i == 500 {
				g.AccountID = "acc_target"
			}
			if err := put(tx, bGrants, grantKey(fmt.Sprint(i)), g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		err := db.Update(func(tx *bbolt.Tx) error {
			if err := revokeGrants(tx, "acc_target"); err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			b.Fatal(err)
		}
	}
}
