package bot_test

import (
	"path/filepath"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// TestCommandsFollowStartCommands checks that the commands adapters offer
// come from the engine's options (each once, lower case, in order), then
// cancel and help, so a flow registered with its own start command is
// understood without the adapters naming it.
func TestCommandsFollowStartCommands(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		start []string
		want  string
	}{
		{nil, "start cancel help language"},
		{[]string{"start", "2FA", "newphone", "2fa"}, "start 2fa newphone cancel help language"},
	} {
		e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{&echoFlow{}}, StartCommands: tc.start})
		if err != nil {
			t.Fatal(err)
		}
		cmds := e.Commands()
		if got := strings.Join(cmds, " "); got != tc.want {
			t.Fatalf("StartCommands %q: Commands() = %q, want %q", tc.start, got, tc.want)
		}
		cmds[0] = "changed"
		if e.Commands()[0] == "changed" {
			t.Fatal("Commands returned the engine's own slice")
		}
		for _, c := range strings.Fields(tc.want) {
			if want := c != "cancel" && c != "help" && c != "language"; e.IsStartCommand(c) != want {
				t.Fatalf("IsStartCommand(%q) = %v, want %v", c, !want, want)
			}
		}
		if e.IsStartCommand("newphon") {
			t.Fatal("IsStartCommand of an unknown word")
		}
	}
}
