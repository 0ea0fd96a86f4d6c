package slack_test

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestManifest pins deploy/slack-app-manifest.yaml to what the adapter
// uses: its scopes, events, command and interactivity.
func TestManifest(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			AppHome struct {
				Home     bool `yaml:"home_tab_enabled"`
				Messages bool `yaml:"messages_tab_enabled"`
				ReadOnly bool `yaml:"messages_tab_read_only_enabled"`
			} `yaml:"app_home"`
			Commands []struct {
				Command string `yaml:"command"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot  []string `yaml:"bot"`
				User []string `yaml:"user"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				Bot  []string `yaml:"bot_events"`
				User []string `yaml:"user_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	// chat.postMessage/update/delete/postEphemeral, commands, files v2 +
	// files.delete, message.im, conversations.open, users.info (+ profile
	// e-mail), agent replies in the support channel (public or private:
	// message.channels, message.groups), usergroups.users.list.
	// conversations.info (is the app in the support channel?).
	wantScopes := []string{"channels:history", "channels:read", "chat:write", "commands", "files:write", "groups:history",
		"groups:read", "im:history", "im:write", "usergroups:read", "users:read", "users:read.email"}
	if got := m.OAuth.Scopes.Bot; !slices.Equal(got, wantScopes) || len(m.OAuth.Scopes.User) != 0 {
		t.Errorf("bot scopes %q (user %q), want %q", got, m.OAuth.Scopes.User, wantScopes)
	}
	if got := m.Settings.Events.Bot; !slices.Equal(got, []string{"app_home_opened", "message.channels", "message.groups", "message.im"}) || len(m.Settings.Events.User) != 0 {
		t.Errorf("bot events %q", got)
	}
	if len(m.Features.Commands) != 1 || m.Features.Commands[0].Command != "/guidedfix" {
		t.Errorf("commands %+v", m.Features.Commands)
	}
	if h := m.Features.AppHome; !h.Home || !h.Messages || h.ReadOnly {
		t.Errorf("app home %+v: the Home tab and a writable Messages tab are needed", h)
	}
	if !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode {
		t.Errorf("interactivity %v, socket mode %v", m.Settings.Interactivity.Enabled, m.Settings.SocketMode)
	}
}
