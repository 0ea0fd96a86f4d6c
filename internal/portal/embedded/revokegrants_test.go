package embedded

import (
	"context"
	"encoding/json"
	"testing"

	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

// grantsByAccount returns how many grants each account id has stored.
func grantsByAccount(t *testing.T, c *Core) map[string]int {
	t.Helper()
	n := map[string]int{}
	err := c.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bGrants).ForEach(func(_, v []byte) error {
			var g grantRec
			if err := json.Unmarshal(v, &g); err != nil {
				return err
			}
			n[g.AccountID]++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFactorChangeRevokesEveryGrantForm: a TOTP activation revokes every
// grant of its account — those json.Marshal wrote and one stored in
// another JSON form (fields reordered, spaces) — and leaves alone another
// account's grant and that of an id which has the account's id as prefix.
func TestFactorChangeRevokesEveryGrantForm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	b := e.add(t, "bob@example.com", "+60123450002", portal.MethodSMS, portaltest.Password)
	e.grant(t, a)
	bobGrant := e.grant(t, b)
	other, _ := json.Marshal(a.ID)
	longer, _ := json.Marshal(a.ID + "x")
	raw := map[string]string{
		"other-form": `{ "Level": "password", "ExpiresAt": "2099-01-01T00:00:00Z", "AccountID": ` + string(other) + ` }`,
		"longer-id":  `{"AccountID":` + string(longer) + `,"Level":"password","ExpiresAt":"2099-01-01T00:00:00Z"}`,
	}
	if err := e.core.db.Update(func(tx *bbolt.Tx) error {
		for token, v := range raw {
			if err := tx.Bucket(bGrants).Put([]byte(grantKey(token)), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	en := e.enroll(t, a) // a third grant of alice's, elevated by the SMS code
	if n := grantsByAccount(t, e.core); n[a.ID] != 3 || n[b.ID] != 1 || n[a.ID+"x"] != 1 {
		t.Fatalf("before the factor change: %v", n)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "confirm-a"); err != nil {
		t.Fatal(err)
	}
	if n := grantsByAccount(t, e.core); n[a.ID] != 0 || n[b.ID] != 1 || n[a.ID+"x"] != 1 || len(n) != 2 {
		t.Fatalf("after the factor change: %v; want none of alice's, bob's 1 and the longer id's 1", n)
	}
	if _, err := e.core.SendSMSChallenge(ctx, "other-form", "sms-other"); err != portal.ErrBadGrant {
		t.Fatalf("the other-form grant after the factor change: %v, want ErrBadGrant", err)
	}
	if _, err := e.core.SendSMSChallenge(ctx, bobGrant.Token, "sms-bob"); err != nil {
		t.Fatalf("bob's grant: %v", err)
	}
}

// TestRevokeGrantsDecodesEscapedIDs: a grant record whose AccountID is
// written with a JSON escape (RFC 8259 §7: \u0061 for its first letter),
// field first as json.Marshal orders it or in another form, is revoked
// with the account's other grants; another account's escaped grant stays.
func TestRevokeGrantsDecodesEscapedIDs(t *testing.T) {
	e := newEnv(t)
	a := e.alice(t)
	b := e.add(t, "bob@example.com", "+60123450002", portal.MethodSMS, portaltest.Password)
	e.grant(t, a)
	e.grant(t, b)
	escaped := func(id string) string {
		if id[0] != 'a' {
			t.Fatalf("id %q does not start with an a", id)
		}
		return `"\u0061` + id[1:] + `"`
	}
	raw := map[string]string{
		"escaped-first": `{"AccountID":` + escaped(a.ID) + `,"Level":"password","ExpiresAt":"2099-01-01T00:00:00Z"}`,
		"escaped-other": `{"Level":"password","ExpiresAt":"2099-01-01T00:00:00Z","AccountID":` + escaped(a.ID) + `}`,
		"escaped-bob":   `{"AccountID":` + escaped(b.ID) + `,"Level":"password","ExpiresAt":"2099-01-01T00:00:00Z"}`,
	}
	if err := e.core.db.Update(func(tx *bbolt.Tx) error {
		for token, v := range raw {
			if err := tx.Bucket(bGrants).Put([]byte(grantKey(token)), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := grantsByAccount(t, e.core); n[a.ID] != 3 || n[b.ID] != 2 || len(n) != 2 {
		t.Fatalf("before: %v; want alice's 3 and bob's 2", n)
	}
	if err := e.core.db.Update(func(tx *bbolt.Tx) error { return revokeGrants(tx, a.ID) }); err != nil {
		t.Fatal(err)
	}
	if n := grantsByAccount(t, e.core); n[a.ID] != 0 || n[b.ID] != 2 || len(n) != 1 {
		t.Fatalf("after revokeGrants(alice): %v; want none of alice's and bob's 2", n)
	}
	// An id that json.Marshal escapes ("<" is written \u003c), stored
	// unescaped: its needle never matches the bytes, the record is decoded.
	if err := e.core.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bGrants).Put([]byte(grantKey("plain-lt")), []byte(`{"AccountID":"acc_<1","Level":"password","ExpiresAt":"2099-01-01T00:00:00Z"}`)); err != nil {
			return err
		}
		return revokeGrants(tx, "acc_<1")
	}); err != nil {
		t.Fatal(err)
	}
	if n := grantsByAccount(t, e.core); n["acc_<1"] != 0 || n[b.ID] != 2 || len(n) != 1 {
		t.Fatalf("after revokeGrants(acc_<1): %v; want bob's 2 only", n)
	}
}
