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
