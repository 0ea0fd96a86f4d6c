package portaltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// ProblemInvalidRequest is the problem type of a request the document's
// "Request bodies" rules refuse (api/portal.openapi.yaml).
const ProblemInvalidRequest = "urn:guidedfix:problem:invalid-request"

// CheckRequestBodies sends, to the portal over HTTP at baseURL (bearer
// token), every malformed body the document's "Request bodies" section
// describes, for every operation of the document at docPath that has a
// JSON request body: the operation's first example with each required
// member removed, set to null, or given a value of another JSON type, and
// bodies that are not a JSON object. Each must be answered 400 with type
// invalid-request. For an operation with an Idempotency-Key the refused
// call must bind nothing: the example body sent next with the same key is
// not answered idempotency-mismatch. It returns how many malformed
// requests were sent.
func CheckRequestBodies(t *testing.T, docPath, baseURL, token string) int {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(docPath)
	if err != nil {
		t.Fatalf("load %s: %v", docPath, err)
	}
	sent := 0
	paths := doc.Paths.Map()
	names := make([]string, 0, len(paths))
	for p := range paths {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, path := range names {
		op := paths[path].Post
		if op == nil || op.RequestBody == nil {
			continue
		}
		media := op.RequestBody.Value.Content.Get("application/json")
		if media == nil || media.Schema == nil {
			continue
		}
		keyed := false
		for _, p := range op.Parameters {
			keyed = keyed || (p.Value.In == "header" && p.Value.Name == "Idempotency-Key")
		}
		exNames := make([]string, 0, len(media.Examples))
		for n := range media.Examples {
			exNames = append(exNames, n)
		}
		slices.Sort(exNames)
		if len(exNames) == 0 {
			t.Errorf("%s: no request example", op.OperationID)
			continue
		}
		example, ok := media.Examples[exNames[0]].Value.Value.(map[string]any)
		if !ok {
			t.Errorf("%s: the request example is not an object", op.OperationID)
			continue
		}
		schema := media.Schema.Value
		type bad struct{ what, body string }
		var cases []bad
		for _, raw := range []string{`[]`, `null`, `"x"`, `{`, ``} {
			cases = append(cases, bad{"body " + raw, raw})
		}
		for _, name := range schema.Required {
			without := clone(example)
			delete(without, name)
			cases = append(cases, bad{"without " + name, marshal(t, without)})
			null := clone(example)
			null[name] = nil
			cases = append(cases, bad{name + " null", marshal(t, null)})
			other := clone(example)
			other[name] = wrongType(schema.Properties[name])
			cases = append(cases, bad{name + " of another type", marshal(t, other)})
		}
		for i, c := range cases {
			key := fmt.Sprintf("check-bodies-%s-%d", op.OperationID, i)
			status, typ := post(t, baseURL+path, token, key, c.body)
			sent++
			if status != http.StatusBadRequest || typ != ProblemInvalidRequest {
				t.Errorf("%s %s: %d %q, want 400 %s", op.OperationID, c.what, status, typ, ProblemInvalidRequest)
				continue
			}
			if keyed {
				if status, typ := post(t, baseURL+path, token, key, marshal(t, example)); typ == "urn:guidedfix:problem:idempotency-mismatch" {
					t.Errorf("%s %s: the refused call bound its key (then %d %q)", op.OperationID, c.what, status, typ)
				}
			}
		}
	}
	return sent
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wrongType returns a JSON value whose type the property's schema does
// not allow.
func wrongType(p *openapi3.SchemaRef) any {
	if p != nil && p.Value != nil && p.Value.Type.Is("string") {
		return 12345
	}
	return "not-a-number"
}

// post sends body to url with the token and key and returns the status and
// the problem type ("" when the answer is not a problem).
func post(t *testing.T, url, token, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Type string }
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		_ = json.NewDecoder(resp.Body).Decode(&p)
	}
	return resp.StatusCode, p.Type
}

// CheckPasswordLimits drives the document's "Failure limits" for
// passwords through verifyPassword at baseURL (bearer token) on the
// account accountID whose password is password, with Guidedfix-Source
// values source-1 … source-6, all within one 15-minute window and with
// no other failure on the account before: source-1's fifth wrong password
// is answered locked (Retry-After 900) and throttles only source-1 (its
// right password too), source-2's right password still gets a grant; then
// wrong passwords of source-2 … source-5 bring the account to 20 failures,
// the 20th answered locked, and the account is locked for source-6's right
// password as well.
func CheckPasswordLimits(t *testing.T, baseURL, token, accountID, password string) {
	t.Helper()
	n := 0
	verify := func(source, pw string) (int, string, string) {
		t.Helper()
		n++
		body := marshal(t, map[string]any{"accountId": accountID, "password": pw})
		req, err := http.NewRequest(http.MethodPost, baseURL+"/v1/password/verify", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", fmt.Sprintf("check-limits-%d", n))
		req.Header.Set("Guidedfix-Source", source)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p struct{ Type string }
		_ = json.NewDecoder(resp.Body).Decode(&p)
		return resp.StatusCode, strings.TrimPrefix(p.Type, "urn:guidedfix:problem:"), resp.Header.Get("Retry-After")
	}
	want := func(what string, st int, typ, ra string, wantSt int, wantTyp, wantRA string) {
		t.Helper()
		if st != wantSt || typ != wantTyp || ra != wantRA {
			t.Fatalf("%s: %d %q Retry-After %q, want %d %q %q", what, st, typ, ra, wantSt, wantTyp, wantRA)
		}
	}
	const wrong = "not the password at all"
	for i := 1; i <= 4; i++ {
		st, typ, ra := verify("test:source-1", wrong)
		want(fmt.Sprintf("source-1 failure %d", i), st, typ, ra, 422, "bad-password", "")
	}
	st, typ, ra := verify("test:source-1", wrong)
	want("source-1 failure 5", st, typ, ra, 429, "locked", "900")
	st, typ, ra = verify("test:source-1", password)
	want("source-1's right password while throttled", st, typ, ra, 429, "locked", "900")
	st, typ, ra = verify("test:source-2", password)
	want("source-2's right password", st, typ, ra, 200, "", "")
	failures := 5
	for _, src := range []string{"test:source-2", "test:source-3", "test:source-4", "test:source-5"} {
		for i := 1; i <= 4 && failures < 19; i++ {
			st, typ, ra := verify(src, wrong)
			failures++
			want(fmt.Sprintf("%s failure %d (account failure %d)", src, i, failures), st, typ, ra, 422, "bad-password", "")
		}
	}
	st, typ, ra = verify("test:source-5", wrong)
	want("account failure 20", st, typ, ra, 429, "locked", "900")
	st, typ, ra = verify("test:source-6", password)
	want("source-6's right password while the account is locked", st, typ, ra, 429, "locked", "900")
}

// CheckEmptyValues: an empty string is a value, not a missing member (the
// document's "Request bodies"): at baseURL (bearer token) an empty e-mail
// is not-found, an empty password for accountID bad-password, and an empty
// SMS code code-format.
func CheckEmptyValues(t *testing.T, baseURL, token, accountID string) {
	t.Helper()
	for _, c := range []struct{ path, body, want string }{
		{"/v1/accounts/lookup", `{"email":""}`, "urn:guidedfix:problem:not-found"},
		{"/v1/password/verify", `{"accountId":"` + accountID + `","password":""}`, "urn:guidedfix:problem:bad-password"},
		{"/v1/sms-challenges/verify", `{"grantToken":"","challengeId":"","code":""}`, "urn:guidedfix:problem:code-format"},
	} {
		if _, typ := post(t, baseURL+c.path, token, "check-empty"+c.path, c.body); typ != c.want {
			t.Errorf("%s %s: %q, want %q", c.path, c.body, typ, c.want)
		}
	}
}

// CheckKeyAcrossChecks: at baseURL (bearer token) an Idempotency-Key bound
// by one check operation (verifyPassword of accountID) is
// idempotency-mismatch on another check operation (cancelTOTPEnrollment),
// and replays on the first (the document's "Idempotency").
func CheckKeyAcrossChecks(t *testing.T, baseURL, token, accountID string) {
	t.Helper()
	verify := `{"accountId":"` + accountID + `","password":"not the password at all"}`
	if st, typ := post(t, baseURL+"/v1/password/verify", token, "check-across-1", verify); st != 422 || typ != "urn:guidedfix:problem:bad-password" {
		t.Fatalf("first verifyPassword: %d %q", st, typ)
	}
	if st, typ := post(t, baseURL+"/v1/totp-enrollments/cancel", token, "check-across-1", `{"enrollmentId":"en_none"}`); st != 422 || typ != "urn:guidedfix:problem:idempotency-mismatch" {
		t.Fatalf("the key on cancelTOTPEnrollment: %d %q, want 422 idempotency-mismatch", st, typ)
	}
	if st, typ := post(t, baseURL+"/v1/password/verify", token, "check-across-1", verify); st != 422 || typ != "urn:guidedfix:problem:bad-password" {
		t.Fatalf("verifyPassword repeated: %d %q, want the first answer", st, typ)
	}
}
