package newphone_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/golden"
)

// mask masks every secret registered with e.secret.
func (e *env) mask(s string) string {
	e.mu.Lock()
	secrets := append([]string(nil), e.secrets...)
	e.mu.Unlock()
	return testkit.MaskSecrets(s, secrets)
}

// TestGoldenTranscripts records the flow's main paths — the move with the
// current app's code, and with a recovery code when the old phone is
// lost — as transcripts (testkit.Transcript; passwords, codes, keys and
// the sensitive messages masked) and compares them with
// testdata/<name>.golden. After a deliberate change of the flow's replies,
// regenerate them with
//
//	go test ./flows/newphone/ -run TestGoldenTranscripts -update
//
// and review the diff.
func TestGoldenTranscripts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codes int
		walk  func(e *env, c *chat, acc account)
	}{
		{"current_app", 0, func(e *env, c *chat, acc account) {
			c.press("have_old")
			r := c.text(e.codeOf(acc.secret, 0))
			key := e.keyFromQR(r[1].Image)
			e.clock.Advance(30 * time.Second)
			c.text(e.codeOf(key.Secret(), 0))
		}},
		{"recovery_code", 3, func(e *env, c *chat, acc account) {
			c.press("lost_old")
			c.text("AAAAA-AAAAA-AAAAA")
			r := c.text(strings.ToLower(acc.codes[1]))
			e.secret(recoveryCodes(r[1].Text)...)
			r = c.press("saved")
			key := e.keyFromQR(r[1].Image)
			c.text(e.codeOf(key.Secret(), 0))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			acc := e.totpAccount("alice@example.com", tc.codes)
			c := e.chat()
			tr := &testkit.Transcript{Mask: e.mask}
			c.Transcript = tr
			c.cmd("newphone")
			c.text(acc.email)
			c.text(acc.password)
			tc.walk(e, c, acc)
			text := tr.String()
			for _, s := range append(append([]string{acc.password, acc.secret}, acc.codes...), e.secrets...) {
				if len(s) >= 4 && strings.Contains(text, s) {
					t.Errorf("the transcript holds a secret (%d bytes)", len(s))
				}
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".golden"), text)
		})
	}
}
