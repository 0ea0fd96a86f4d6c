package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPortalRemoteKeys checks the keys of issue 13: the comma-separated
// GUIDEDFIX_PORTAL__SERVE__TOKENS, the *_FILE forms, the serve default
// and that tokens never show in the logged configuration.
func TestPortalRemoteKeys(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte(" file-token-0123456789abcdefghijklmnopqrstuv\n"), 0o600)
	listFile := filepath.Join(dir, "tokens")
	os.WriteFile(listFile, []byte("listed-1-0123456789abcdefghijklmnopqrstuv\n\n listed-2-0123456789abcdefghijklmnopqrstuv \n"), 0o600)
	cfg := mustLoad(t, "", "GUIDEDFIX_PORTAL__SERVE__TOKENS=new-token-0123456789abcdefghijklmnopqrstuv, old-token-0123456789abcdefghijklmnopqrstuv", "GUIDEDFIX_PORTAL__URL=http://127.0.0.1:8710",
		"GUIDEDFIX_PORTAL__TOKEN_FILE="+tokFile, "GUIDEDFIX_PORTAL__SERVE__TOKENS_FILE="+listFile)
	if cfg.Portal.Serve.Listen != "127.0.0.1:8710" || !cfg.Portal.Remote() {
		t.Fatalf("listen %q remote %v", cfg.Portal.Serve.Listen, cfg.Portal.Remote())
	}
	toks, err := cfg.Portal.Serve.AcceptedTokens()
	if err != nil || !slices.Equal(toks, []string{"new-token-0123456789abcdefghijklmnopqrstuv", "old-token-0123456789abcdefghijklmnopqrstuv", "listed-1-0123456789abcdefghijklmnopqrstuv", "listed-2-0123456789abcdefghijklmnopqrstuv"}) {
		t.Fatalf("AcceptedTokens = %q, %v", toks, err)
	}
	if tok, err := cfg.Portal.ServiceToken(); tok != "file-token-0123456789abcdefghijklmnopqrstuv" || err != nil {
		t.Fatalf("ServiceToken = %q, %v", tok, err)
	}
	cfg = mustLoad(t, "", "GUIDEDFIX_PORTAL__TOKEN=env-token-0123456789abcdefghijklmnopqrstuv", "GUIDEDFIX_PORTAL__TOKEN_FILE="+tokFile)
	if tok, _ := cfg.Portal.ServiceToken(); tok != "env-token-0123456789abcdefghijklmnopqrstuv" {
		t.Fatalf("ServiceToken = %q, want the variable over the file", tok)
	}
	if _, err := Default().Portal.ServiceToken(); err == nil || !strings.Contains(err.Error(), "GUIDEDFIX_PORTAL__TOKEN") {
		t.Fatalf("ServiceToken without one: %v", err)
	}
	var text strings.Builder
	cfg = mustLoad(t, "", "GUIDEDFIX_PORTAL__SERVE__TOKENS=serve-secret-1-0123456789abcdefghij", "GUIDEDFIX_PORTAL__TOKEN=client-secret-2-0123456789abcdefghij")
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", cfg)
	if strings.Contains(text.String(), "serve-secret-1-0123456789abcdefghij") || strings.Contains(text.String(), "client-secret-2-0123456789abcdefghij") {
		t.Fatalf("a token in the logged configuration:\n%s", text.String())
	}
}

// TestPortalRemoteValidate refuses a plain-http portal.url off loopback
// (the token would travel in clear), half a client certificate and a
// client CA without a server certificate.
func TestPortalRemoteValidate(t *testing.T) {
	for _, tc := range []struct{ env, key string }{
		{"GUIDEDFIX_PORTAL__URL=http://portal.example.com:8710", "portal.url"},
		{"GUIDEDFIX_PORTAL__URL=ftp://127.0.0.1", "portal.url"},
		{"GUIDEDFIX_PORTAL__CLIENT_CERT=/c.pem", "portal.client_cert"},
		{"GUIDEDFIX_PORTAL__SERVE__CLIENT_CA=/ca.pem", "portal.serve.client_ca"},
		{"GUIDEDFIX_PORTAL__SERVE__LISTEN=8710", "portal.serve.listen"},
		{"GUIDEDFIX_PORTAL__TIMEOUT=-1s", "portal.timeout"},
		{"GUIDEDFIX_PORTAL__SERVE__TOKENS=short", "portal.serve.tokens"},
		{"GUIDEDFIX_PORTAL__TOKEN=short", "portal.token"},
		{"GUIDEDFIX_PORTAL__SMS__GATEWAY_URL=http://sms.example.com/x", "portal.sms.gateway_url"},
		{"GUIDEDFIX_PORTAL__SMS__GATEWAY_URL=https://sms.example.com/x", "portal.sms.gateway_secret"},
	} {
		_, err := load("", environ(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%s: %v, want an error for %s", tc.env, err, tc.key)
		}
	}
	for _, ok := range []string{"GUIDEDFIX_PORTAL__URL=http://127.0.0.1:8710", "GUIDEDFIX_PORTAL__URL=https://portal.example.com"} {
		if _, err := load("", environ(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
