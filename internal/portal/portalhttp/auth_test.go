package portalhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/portal/portaltest"
)

// TestUnauthorizedEveryPath sends every operation of the document with no
// token, a wrong one, a wrong scheme and an empty bearer, each with a body
// that would succeed, and wants 401 with an unauthorized problem and no
// change: same method, no SMS, no e-mail, same core counters.
func TestUnauthorizedEveryPath(t *testing.T) {
	doc := loadDoc(t)
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	g, err := e.core.VerifyPassword(ctx, a.ID, portaltest.Password)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.core.SendSMSChallenge(ctx, g.Token, "k-sms")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := e.sms.LastCode(portaltest.AlicePhone)
	g2, err := e.core.VerifyPassword(ctx, a.ID, portaltest.Password)
	if err != nil {
		t.Fatal(err)
	}
	smsBefore, mailsBefore, statsBefore := len(e.sms.Messages()), len(e.mail.Messages()), e.core.Stats()
	body := map[string]any{
		"email": portaltest.AliceEmail, "accountId": a.ID, "password": portaltest.Password,
		"grantToken": g2.Token, "challengeId": ch.ID, "code": code, "disableKey": "k-disable",
		"enrollmentId": "en-x", "count": 2,
	}
	b, _ := json.Marshal(body)
	creds := map[string]string{"none": "", "wrong": "Bearer not-the-token", "basic": "Basic " + testToken, "empty": "Bearer ", "prefix": "Bearer " + testToken[:10]}
	paths := 0
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			paths++
			url := e.url + strings.ReplaceAll(path, "{accountId}", a.ID)
			for name, cred := range creds {
				req, _ := http.NewRequest(method, url, bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "k-"+name+path)
				if cred != "" {
					req.Header.Set("Authorization", cred)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var p map[string]any
				json.NewDecoder(resp.Body).Decode(&p)
				resp.Body.Close()
				if resp.StatusCode != 401 || p["type"] != portalhttp.TypeUnauthorized || resp.Header.Get("Content-Type") != portalhttp.ProblemContentType {
					t.Errorf("%s %s with %s credential: %d %v, want 401 %s", method, path, name, resp.StatusCode, p["type"], portalhttp.TypeUnauthorized)
				}
			}
		}
	}
	if want := reflect.TypeFor[portal.Core]().NumMethod() + 1; paths != want {
		t.Fatalf("tried %d operations, want %d (every portal.Core method and capabilities)", paths, want)
	}
	st, _ := e.core.SecurityStatus(ctx, a.ID)
	if st.Method != portal.MethodSMS || len(e.sms.Messages()) != smsBefore || len(e.mail.Messages()) != mailsBefore || e.core.Stats() != statsBefore {
		t.Fatalf("refused requests changed something: method %s, sms %d→%d, mails %d→%d, stats %+v→%+v",
			st.Method, smsBefore, len(e.sms.Messages()), mailsBefore, len(e.mail.Messages()), statsBefore, e.core.Stats())
	}
	// The same grant still elevates and disables with the right token: the
	// refused calls consumed nothing.
	if _, err := e.client.VerifySMSChallenge(ctx, g.Token, ch.ID, code); err != nil {
		t.Fatalf("VerifySMSChallenge with the right token: %v", err)
	}
}

// TestClientRefusesWithoutToken checks NewClient's configuration errors and
// that a client with a token the server does not accept gets a
// *RemoteError with status 401.
func TestClientRefusesWithoutToken(t *testing.T) {
	if _, err := portalhttp.NewClient(portalhttp.ClientOptions{BaseURL: "http://127.0.0.1:1"}); err == nil {
		t.Fatal("NewClient without a token: no error")
	}
	e := newEnv(t, envOpts{client: func(o *portalhttp.ClientOptions) { o.Token = "wrong" }})
	_, err := e.client.LookupAccount(context.Background(), portaltest.AliceEmail)
	var re *portalhttp.RemoteError
	if !asRemote(err, &re) || re.Status != 401 || re.Type != portalhttp.TypeUnauthorized || !errors.Is(err, portalhttp.ErrUnauthorized) {
		t.Fatalf("LookupAccount with a wrong token: %v, want RemoteError 401 unauthorized", err)
	}
	// Other refusals are not a credential problem.
	if errors.Is(&portalhttp.RemoteError{Status: 500}, portalhttp.ErrUnauthorized) {
		t.Fatal("a 500 matches ErrUnauthorized")
	}
}
