package embedded

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGatewaySMS posts a message to an operator endpoint on 127.0.0.1 that
// verifies it as documented: signature over timestamp + "." + body, the
// timestamp within a minute; a 503 is retried once with the same id; a
// tampered body or a wrong secret is refused.
func TestGatewaySMS(t *testing.T) {
	secret := []byte("0123456789abcdef-operator")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var got []GatewayMessage
	fail := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := VerifyGateway(secret, r.Header.Get(GatewayTimestampHeader), r.Header.Get(GatewaySignatureHeader), body, now, time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var m GatewayMessage
		json.Unmarshal(body, &m)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		if fail > 0 {
			fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	g, err := NewGatewaySMS(GatewayOptions{URL: srv.URL, Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SendSMS(context.Background(), "+60123456789", "Your code is 123456"); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if len(got) != 2 || got[0].ID != got[1].ID || got[1].To != "+60123456789" || got[1].Text != "Your code is 123456" || !got[1].SentAt.Equal(now) {
		t.Fatalf("gateway got %+v", got)
	}
	bad, _ := NewGatewaySMS(GatewayOptions{URL: srv.URL, Secret: []byte("another-secret-of-16"), Now: func() time.Time { return now }})
	if err := bad.SendSMS(context.Background(), "+60123456789", "x"); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	ts := "1772442000"
	body := []byte(`{"to":"+1"}`)
	sig := SignGateway(secret, ts, body)
	if VerifyGateway(secret, ts, sig, []byte(`{"to":"+2"}`), time.Unix(1772442000, 0), time.Minute) == nil {
		t.Fatal("a tampered body verified")
	}
	if VerifyGateway(secret, ts, sig, body, time.Unix(1772442000+120, 0), time.Minute) == nil {
		t.Fatal("a stale timestamp verified")
	}
	for _, u := range []string{"http://sms.example.com/x", "ftp://127.0.0.1/"} {
		if _, err := NewGatewaySMS(GatewayOptions{URL: u, Secret: secret}); err == nil {
			t.Errorf("NewGatewaySMS(%q): no error", u)
		}
	}
	if _, err := NewGatewaySMS(GatewayOptions{URL: "https://sms.example.com/x", Secret: []byte("short")}); err == nil {
		t.Error("a short secret was accepted")
	}
}

// TestPruneSMSFiles writes two messages with FileSMS and deletes only the
// one whose code (5 minutes) has expired.
func TestPruneSMSFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sms")
	f := FileSMS{Dir: dir}
	if err := f.SendSMS(context.Background(), "+601", "code 111111"); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	time.Sleep(10 * time.Millisecond)
	if err := f.SendSMS(context.Background(), "+602", "code 222222"); err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if len(old) != 1 || len(all) != 2 {
		t.Fatalf("files %v %v", old, all)
	}
	oldAt, _ := time.Parse("20060102T150405.000000000Z", strings.SplitN(filepath.Base(old[0]), "-", 2)[0])
	n, err := PruneSMSFiles(dir, oldAt.Add(smsCodeTTL+5*time.Millisecond))
	left, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || n != 1 || len(left) != 1 || left[0] == old[0] {
		t.Fatalf("PruneSMSFiles = %d, %v; left %v", n, err, left)
	}
	if _, err := os.Stat(old[0]); !os.IsNotExist(err) {
		t.Fatalf("expired SMS file still there: %v", err)
	}
}
