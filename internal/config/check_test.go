package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestEveryKeyHasHelp fails for a setting or section without a help text
// (config example prints it): add it to help in example.go or as a
// `help:"…"` tag on the field.
func TestEveryKeyHasHelp(t *testing.T) {
	for key := range known {
		if Help(key) == "" {
			t.Errorf("%s has no help text: add it to help in internal/config/example.go", key)
		}
	}
	for key := range help {
		if !known[key] {
			t.Errorf("help has %q, which is no setting", key)
		}
	}
}

// TestExampleIsAccepted: `config example` names every setting, and
// `config check` accepts it unchanged, yielding the defaults.
func TestExampleIsAccepted(t *testing.T) {
	ex := Example()
	for _, key := range Keys() {
		name := key[strings.LastIndexByte(key, '.')+1:]
		if !strings.Contains(ex, "# env: "+EnvName(key)+"\n") || !strings.Contains(ex, name+":") {
			t.Errorf("example lacks %s", key)
		}
	}
	cfg, problems := check(writeFile(t, ex), environ())
	if len(problems) != 0 {
		t.Fatalf("check(example) = %q", problems)
	}
	want := Default()
	// "[]" decodes to an empty list, the default is nil.
	for _, l := range []*[]string{&cfg.Slack.StaffUserIDs, &cfg.Store.Etcd.Endpoints} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(cfg.Portal.Serve.Tokens) == 0 {
		cfg.Portal.Serve.Tokens = nil
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("example decodes to %+v\nwant %+v", cfg, want)
	}
}

// TestCheckReportsEveryProblem: each case's file and environment give
// exactly these lines, all at once, with secrets masked.
func TestCheckReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("123:from-file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string // "" means no file
		env  []string
		want []string // with <FILE> for the file's path
	}{
		{name: "valid", file: "smtp:\n  host: mail.example.com\n", want: nil},
		{
			name: "decoding errors name key and value on one line",
			file: "smtp:\n  timeout: ten seconds\n  port: many\nops:\n  public: maybe\n",
			want: []string{
				`config: ops.public: "maybe" is not true or false`,
				`config: smtp.port: "many" is not a whole number`,
				`config: smtp.timeout: "ten seconds" is not a duration such as 90s, 15m or 1h30m`,
			},
		},
		{
			name: "unknown keys, all of them",
			file: "smtp:\n  hots: x\ndatadir: /x\ndatabase:\n  path: y\nlog: 5\n",
			want: []string{
				`config: file <FILE>: "database.path" is not a setting`,
				`config: file <FILE>: "datadir" is not a setting; did you mean data_dir?`,
				`config: file <FILE>: "log" is a section, not a setting; put its settings under it (e.g. log.format)`,
				`config: file <FILE>: "smtp.hots" is not a setting`,
			},
		},
		{
			name: "environment: every GUIDEDFIX_ variable that is no setting",
			env: []string{"GUIDEDFIX_DATADIR=/srv", "GUIDEDFIX_LOG=debug", "GUIDEDFIX_SMTP_HOST=x",
				"GUIDEDFIX_CONFIG=/etc/guidedfix.yaml", "GUIDEDFIX_SMTP__PORT=abc", "GUIDEDFIX_CRASH_SEED=1", "HOME=/root"},
			want: []string{
				"config: GUIDEDFIX_CONFIG is not a setting (see `guidedfix config example` for every key; levels are separated by \"__\")",
				"config: GUIDEDFIX_DATADIR is not a setting; did you mean GUIDEDFIX_DATA_DIR?",
				"config: GUIDEDFIX_LOG is not a setting: log is a section, set one of its keys (e.g. GUIDEDFIX_LOG__FORMAT)",
				"config: GUIDEDFIX_SMTP_HOST is not a setting; did you mean GUIDEDFIX_SMTP__HOST?",
				`config: smtp.port: "abc" (from GUIDEDFIX_SMTP__PORT) is not a whole number`,
			},
		},
		{
			name: "secrets are masked, validation errors say where the value came from",
			file: "telegram:\n  token: not-a-bot-token\nsmtp:\n  password: hunter2-file\n",
			env:  []string{"GUIDEDFIX_FLOW__ORDER=random", "SLACK_BOT_TOKEN=xoxp-user-token", "SLACK_APP_TOKEN=xapp-1"},
			want: []string{
				`flow.order: "random" is not disable-then-enroll or enroll-then-switch (from GUIDEDFIX_FLOW__ORDER)`,
				`slack.bot_token: does not start with "xoxb-" (the Bot User OAuth Token of the app's OAuth & Permissions page); check SLACK_BOT_TOKEN`,
				"smtp.password: is set but smtp.username is empty",
				"telegram.token: does not look like a bot token from @BotFather (digits, ':', then letters, digits, '_' or '-'); check TELEGRAM_BOT_TOKEN",
			},
		},
		{
			name: "secrets from files",
			env:  []string{"TELEGRAM_BOT_TOKEN_FILE=" + tokenFile, "GUIDEDFIX_SMTP__PASSWORD_FILE=" + filepath.Join(dir, "missing"), "GUIDEDFIX_SMTP__HOST_FILE=" + tokenFile},
			want: []string{
				"config: GUIDEDFIX_SMTP__HOST_FILE: only secrets can come from a file; set GUIDEDFIX_SMTP__HOST itself",
				"config: GUIDEDFIX_SMTP__PASSWORD_FILE: cannot read the secret's file: open " + filepath.Join(dir, "missing") + ": no such file or directory",
			},
		},
		{
			name: "ops listener beyond loopback needs ops.public",
			file: "ops:\n  listen: 0.0.0.0:9464\n",
			want: []string{`ops.listen: "0.0.0.0:9464" is not a loopback address; set ops.public: true to serve metrics and health beyond this machine`},
		},
		{name: "ops listener public", file: "ops:\n  listen: 0.0.0.0:9464\n  public: true\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			_, problems := check(path, environ(tt.env...))
			var got []string
			for _, p := range problems {
				got = append(got, p.Error())
			}
			slices.Sort(got)
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "<FILE>", path))
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, g := range got {
				for _, secret := range []string{"hunter2-file", "xoxp-user-token", "not-a-bot-token", "from-file-token"} {
					if strings.Contains(g, secret) {
						t.Errorf("a problem shows a secret: %s", g)
					}
				}
			}
		})
	}
}

// TestSecretFromFile: a _FILE variable's content, without its trailing
// newline, is the secret; a GUIDEDFIX_ name wins over the conventional.
func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "tok")
	if err := os.WriteFile(f, []byte("123:from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := mustLoad(t, "", "TELEGRAM_BOT_TOKEN_FILE="+f)
	if got.Telegram.Token.Reveal() != "123:from-file" {
		t.Fatalf("token %q", got.Telegram.Token.Reveal())
	}
	got = mustLoad(t, "", "TELEGRAM_BOT_TOKEN_FILE="+f, "GUIDEDFIX_TELEGRAM__TOKEN=123:prefixed")
	if got.Telegram.Token.Reveal() != "123:prefixed" {
		t.Fatalf("token %q, want the GUIDEDFIX_ variable's", got.Telegram.Token.Reveal())
	}
}
