package portalteam

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"guidedfix/internal/portal/portaltest"
)

// call POSTs body to url+path with the token and key (empty: no header) and
// returns the status, the problem type (empty on success) and Retry-After.
func call(t *testing.T, url, token, key, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Type string }
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, strings.TrimPrefix(p.Type, "urn:guidedfix:problem:"), resp.Header.Get("Retry-After")
}

// TestTeamServerAuthAndIdempotency checks the team server's own reading of
// the document's transport rules, which the demo tests rely on: a wrong
// token is 401 unauthorized and counts nothing; a repeated key replays the
// first answer (a problem too) without counting a second failure; the key
// with another body (byte for byte) is idempotency-mismatch; a keyed
// operation without the header is invalid-request; the fifth counted
// failure is locked with Retry-After 900.
func TestTeamServerAuthAndIdempotency(t *testing.T) {
	srv := newTeamServer(teamToken)
	id := srv.addAccount("alice@example.com", "Alice", "+60123456789", teamPassword)
	url := startTeamServer(t, srv)
	bad := `{"accountId":"` + id + `","password":"wrong password"}`
	const verify = "/v1/password/verify"

	for _, tok := range []string{"", "not-the-token"} {
		if st, typ, _ := call(t, url, tok, "k0", verify, bad); st != 401 || typ != "unauthorized" {
			t.Fatalf("token %q: %d %q, want 401 unauthorized", tok, st, typ)
		}
	}
	if st, typ, _ := call(t, url, teamToken, "", verify, bad); st != 400 || typ != "invalid-request" {
		t.Fatalf("no key: %d %q, want 400 invalid-request", st, typ)
	}
	for i, key := range []string{"k1", "k1", "k2", "k2", "k3", "k4", "k4"} {
		if st, typ, _ := call(t, url, teamToken, key, verify, bad); st != 422 || typ != "bad-password" {
			t.Fatalf("call %d (%s): %d %q, want 422 bad-password", i, key, st, typ)
		}
	}
	if st, typ, _ := call(t, url, teamToken, "k1", verify, strings.Replace(bad, ":", ": ", 1)); st != 422 || typ != "idempotency-mismatch" {
		t.Fatalf("k1 with another body: %d %q, want 422 idempotency-mismatch", st, typ)
	}
	if got := srv.snapshot(id).calls["verifyPassword"]; got != 4 {
		t.Fatalf("verifyPassword answered %d times, want 4 (replays and refusals count nothing)", got)
	}
	st, typ, ra := call(t, url, teamToken, "k5", verify, bad)
	if st != 429 || typ != "locked" || ra != "900" {
		t.Fatalf("fifth failure: %d %q Retry-After %q, want 429 locked 900", st, typ, ra)
	}
	good := `{"accountId":"` + id + `","password":"` + teamPassword + `"}`
	if st, typ, _ := call(t, url, teamToken, "k6", verify, good); st != 429 || typ != "locked" {
		t.Fatalf("right password while locked: %d %q, want 429 locked", st, typ)
	}
}

// TestTeamServerRequestBodies: the team server refuses every malformed
// body of the document's "Request bodies" section with 400
// invalid-request and binds no key to it, like guidedfix's own server
// (portaltest.CheckRequestBodies, also run in internal/portal/portalhttp).
func TestTeamServerRequestBodies(t *testing.T) {
	srv := newTeamServer(teamToken)
	url := startTeamServer(t, srv)
	if n := portaltest.CheckRequestBodies(t, "../../../api/portal.openapi.yaml", url, teamToken); n != 174 {
		t.Fatalf("%d malformed requests sent, want 174", n)
	}
}

// TestTeamServerPasswordLimits: the team portal applies the document's
// per-source and per-account password limits like guidedfix's server
// (portaltest.CheckPasswordLimits, also run in internal/portal/portalhttp).
func TestTeamServerPasswordLimits(t *testing.T) {
	srv := newTeamServer(teamToken)
	id := srv.addAccount("alice@example.com", "Alice", "+60123456789", teamPassword)
	portaltest.CheckPasswordLimits(t, startTeamServer(t, srv), teamToken, id, teamPassword)
}

// TestTeamServerEmptyValues: empty strings get the operations' own answers
// (portaltest.CheckEmptyValues, also run in internal/portal/portalhttp).
func TestTeamServerEmptyValues(t *testing.T) {
	srv := newTeamServer(teamToken)
	id := srv.addAccount("alice@example.com", "Alice", "+60123456789", teamPassword)
	portaltest.CheckEmptyValues(t, startTeamServer(t, srv), teamToken, id)
}

// TestTeamServerKeyAcrossChecks: one key space for the check operations
// (portaltest.CheckKeyAcrossChecks, also run in internal/portal/portalhttp).
func TestTeamServerKeyAcrossChecks(t *testing.T) {
	srv := newTeamServer(teamToken)
	id := srv.addAccount("alice@example.com", "Alice", "+60123456789", teamPassword)
	portaltest.CheckKeyAcrossChecks(t, startTeamServer(t, srv), teamToken, id)
}
