package portalhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/portal/portaltest"
)

const docPath = "../../../api/portal.openapi.yaml"

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	l := openapi3.NewLoader()
	doc, err := l.LoadFromFile(docPath)
	if err != nil {
		t.Fatalf("load %s: %v", docPath, err)
	}
	return doc
}

// TestDocumentValid validates api/portal.openapi.yaml with kin-openapi
// (examples included) and checks the contract's own rules: version 3.1,
// every path under /v1, every operation with an example per media type,
// an Idempotency-Key header on every operation that may change state, and
// the ProblemType enum equal to the types this package maps.
func TestDocumentValid(t *testing.T) {
	doc := loadDoc(t)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("document invalid: %v", err)
	}
	ops := 0
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") {
			t.Errorf("path %s is not under /v1/", path)
		}
		for method, op := range item.Operations() {
			ops++
			name := method + " " + path
			read := method == "GET" || op.Extensions["x-guidedfix-read"] == true
			hasKey := false
			for _, p := range op.Parameters {
				if p.Value.In == "header" && p.Value.Name == "Idempotency-Key" && p.Value.Required {
					hasKey = true
				}
				if p.Value.In == "query" {
					t.Errorf("%s: query parameter %s (secrets and ids belong in the body)", name, p.Value.Name)
				}
			}
			if !read && !hasKey {
				t.Errorf("%s changes state but has no required Idempotency-Key", name)
			}
			if op.RequestBody != nil {
				for mt, c := range op.RequestBody.Value.Content {
					if len(c.Examples) == 0 && c.Example == nil {
						t.Errorf("%s: request %s has no example", name, mt)
					}
				}
			}
			for code, r := range op.Responses.Map() {
				for mt, c := range r.Value.Content {
					if len(c.Examples) == 0 && c.Example == nil {
						t.Errorf("%s: response %s %s has no example", name, code, mt)
					}
				}
			}
			if op.Responses.Default() == nil {
				t.Errorf("%s: no default problem response", name)
			}
		}
	}
	if want := reflect.TypeFor[portal.Core]().NumMethod() + 1; ops != want {
		t.Errorf("%d operations, want %d (one per portal.Core method and capabilities)", ops, want)
	}
	var enum []string
	for _, v := range doc.Components.Schemas["ProblemType"].Value.Enum {
		enum = append(enum, v.(string))
	}
	slices.Sort(enum)
	mapped := portalhttp.ProblemTypes()
	slices.Sort(mapped)
	if !slices.Equal(enum, mapped) {
		t.Errorf("ProblemType enum %v, mapped types %v", enum, mapped)
	}
	examples := doc.Components.Responses["Problem"].Value.Content["application/problem+json"].Examples
	seen := map[string]bool{}
	for _, ex := range examples {
		seen[ex.Value.Value.(map[string]any)["type"].(string)] = true
	}
	for _, typ := range mapped {
		if !seen[typ] {
			t.Errorf("no problem example of type %s", typ)
		}
	}
}

// TestGeneratedCodeFresh regenerates the code of package gen from the
// document into a temporary directory and fails when it differs from the
// committed gen/portal.gen.go (run go generate ./internal/portal/portalhttp/...).
func TestGeneratedCodeFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	tmp := t.TempDir()
	cfg, err := os.ReadFile("gen/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "portal.gen.go")
	cfg = bytes.Replace(cfg, []byte("output: portal.gen.go"), []byte("output: "+out), 1)
	if !bytes.Contains(cfg, []byte(out)) {
		t.Fatal("gen/config.yaml has no `output: portal.gen.go` line")
	}
	cfgPath := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	doc, _ := filepath.Abs(docPath)
	cmd := exec.Command("go", "tool", "oapi-codegen", "-config", cfgPath, doc)
	cmd.Dir = "gen"
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("gen/portal.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("gen/portal.gen.go is stale against api/portal.openapi.yaml: run go generate ./internal/portal/portalhttp/...")
	}
}

// TestRequestBodiesRefused: the server answers every malformed body the
// document's "Request bodies" section describes with 400 invalid-request
// and binds no Idempotency-Key to it (portaltest.CheckRequestBodies).
func TestRequestBodiesRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	if n := portaltest.CheckRequestBodies(t, docPath, e.url, testToken); n != 174 {
		t.Fatalf("%d malformed requests sent, want 174 (the whole document's)", n)
	}
}

// problemRecorder keeps, per request path, the problem types the server
// answered.
type problemRecorder struct {
	mu   sync.Mutex
	seen map[string]map[string]bool
}

type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
func (w *recordingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (pr *problemRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &recordingWriter{ResponseWriter: w}
		h.ServeHTTP(rw, r)
		if !strings.HasPrefix(rw.Header().Get("Content-Type"), "application/problem+json") {
			return
		}
		var p struct{ Type string }
		_ = json.Unmarshal(rw.body.Bytes(), &p)
		pr.mu.Lock()
		defer pr.mu.Unlock()
		if pr.seen[r.URL.Path] == nil {
			pr.seen[r.URL.Path] = map[string]bool{}
		}
		pr.seen[r.URL.Path][strings.TrimPrefix(p.Type, "urn:guidedfix:problem:")] = true
	})
}

// TestProblemsListed: every operation lists the problem types it can
// answer (x-guidedfix-problems, types of the ProblemType enum, without the
// three every operation may answer), and while the conformance suite runs
// over HTTP the server answers each operation only with types listed for
// it — so a portal team can rely on the lists.
func TestProblemsListed(t *testing.T) {
	doc := loadDoc(t)
	enum := map[string]bool{}
	for _, v := range doc.Components.Schemas["ProblemType"].Value.Enum {
		enum[strings.TrimPrefix(v.(string), "urn:guidedfix:problem:")] = true
	}
	always := map[string]bool{"unauthorized": true, "invalid-request": true, "internal": true}
	listed := map[string]map[string]bool{} // path → types ({accountId} paths by prefix)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			raw, ok := op.Extensions["x-guidedfix-problems"].([]any)
			if !ok {
				t.Errorf("%s %s: no x-guidedfix-problems list", method, path)
				continue
			}
			set := map[string]bool{}
			for _, v := range raw {
				s, _ := v.(string)
				if !enum[s] || always[s] {
					t.Errorf("%s %s: x-guidedfix-problems has %q (not a ProblemType, or one every operation may answer)", method, path, v)
				}
				set[s] = true
			}
			listed[method+" "+path] = set
		}
	}
	pr := &problemRecorder{seen: map[string]map[string]bool{}}
	t.Run("conformance", func(t *testing.T) { // returns once every (parallel) case ended
		portaltest.Run(t, portaltest.Harness{New: func(t *testing.T) portaltest.Env {
			e := newEnv(t, envOpts{wrap: pr.wrap})
			return portaltest.Env{Core: e.client, AddAccount: e.add, SetNow: e.clock.Set, Now: e.clock.Now,
				LastSMSCode: e.sms.LastCode, Mails: e.mail.Messages}
		}})
	})
	opOf := func(path string) map[string]bool {
		if set, ok := listed["POST "+path]; ok {
			return set
		}
		if rest, ok := strings.CutPrefix(path, "/v1/accounts/"); ok && !strings.Contains(rest, "/") {
			return listed["GET /v1/accounts/{accountId}"]
		} else if ok && strings.HasSuffix(rest, "/security-status") {
			return listed["GET /v1/accounts/{accountId}/security-status"]
		}
		return listed["GET "+path]
	}
	answered := 0
	for path, types := range pr.seen {
		set := opOf(path)
		for typ := range types {
			answered++
			if !set[typ] && !always[typ] {
				t.Errorf("%s answered %s, which its x-guidedfix-problems does not list", path, typ)
			}
		}
	}
	t.Logf("%d distinct (path, problem) answers checked", answered)
	if answered < 30 {
		t.Fatalf("the conformance suite drew only %d distinct (path, problem) answers", answered)
	}
}

// TestPasswordLimitsAsDocumented: the embedded core over HTTP applies the
// document's per-source and per-account password limits
// (portaltest.CheckPasswordLimits; the team portal runs the same check).
func TestPasswordLimitsAsDocumented(t *testing.T) {
	e := newEnv(t, envOpts{sameClock: true})
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	portaltest.CheckPasswordLimits(t, e.url, testToken, a.ID, portaltest.Password)
}

// TestEmptyValuesAsDocumented: empty strings get the operations' own
// answers, not invalid-request (portaltest.CheckEmptyValues).
func TestEmptyValuesAsDocumented(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	portaltest.CheckEmptyValues(t, e.url, testToken, a.ID)
}

// TestKeyAcrossChecks: the check operations share one key space
// (portaltest.CheckKeyAcrossChecks).
func TestKeyAcrossChecks(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	portaltest.CheckKeyAcrossChecks(t, e.url, testToken, a.ID)
}
