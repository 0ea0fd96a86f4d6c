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
