package portalhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/portal/portaltest"
)

// post sends one authenticated JSON request and returns status and body.
func post(t *testing.T, url, path, key string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestIdempotencyKeyOnTheWire checks the document's key rules for an
// operation the server keys itself (password check): the same key and
// body replays the first answer and counts one failure; the same key with
// another body is idempotency-mismatch and counts nothing; a missing key
// is invalid-request; and for a core-keyed operation (disable) a repeated
// key answers 204 again with one disable.
func TestIdempotencyKeyOnTheWire(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	wrong := map[string]any{"accountId": a.ID, "password": "wrong password"}
	for i := range 2 {
		st, p := post(t, e.url, "/v1/password/verify", "k1", wrong)
		if st != 422 || p["type"] != portalhttp.TypeBadPassword {
			t.Fatalf("attempt %d: %d %v", i, st, p)
		}
	}
	st, p := post(t, e.url, "/v1/password/verify", "k1", map[string]any{"accountId": a.ID, "password": portaltest.Password})
	if st != 422 || p["type"] != portalhttp.TypeIdempotencyMismatch {
		t.Fatalf("same key, other body: %d %v", st, p)
	}
	if st, p := post(t, e.url, "/v1/password/verify", "", wrong); st != 400 || p["type"] != portalhttp.TypeInvalidRequest {
		t.Fatalf("no key: %d %v", st, p)
	}
	// One failure counted so far: 4 more lock the account (5 in 15 min).
	for range 4 {
		e.core.VerifyPassword(context.Background(), a.ID, "wrong password")
	}
	st, p = post(t, e.url, "/v1/password/verify", "k2", map[string]any{"accountId": a.ID, "password": portaltest.Password})
	if st != 429 || p["type"] != portalhttp.TypeLocked || p["retryAfter"] == nil {
		t.Fatalf("after 5 counted failures: %d %v, want 429 locked", st, p)
	}
}

// TestRecoveryCodesReplay: IssueRecoveryCodes repeated with the same key
// returns the same codes (one set issued), a new key a new set.
func TestRecoveryCodesReplay(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	a := e.add(t, portaltest.BobEmail, portaltest.BobPhone, portal.MethodNone, portaltest.Password)
	g, err := e.core.VerifyPassword(ctx, a.ID, portaltest.Password)
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "c"); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"enrollmentId": en.ID, "count": 2}
	_, first := post(t, e.url, "/v1/totp-enrollments/recovery-codes", "rc-1", body)
	_, again := post(t, e.url, "/v1/totp-enrollments/recovery-codes", "rc-1", body)
	_, other := post(t, e.url, "/v1/totp-enrollments/recovery-codes", "rc-2", body)
	c1, _ := json.Marshal(first["codes"])
	c2, _ := json.Marshal(again["codes"])
	c3, _ := json.Marshal(other["codes"])
	if first["codes"] == nil || !bytes.Equal(c1, c2) || bytes.Equal(c1, c3) {
		t.Fatalf("codes %s / %s / %s: want the first set replayed, a new one for a new key", c1, c2, c3)
	}
	if st, p := post(t, e.url, "/v1/totp-enrollments/recovery-codes", "rc-3", map[string]any{"enrollmentId": en.ID, "count": 21}); st != 400 || p["type"] != portalhttp.TypeInvalidRequest {
		t.Fatalf("count 21: %d %v", st, p)
	}
}
