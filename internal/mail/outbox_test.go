package mail

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func newTestOutbox(t *testing.T) *Outbox {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "spool", "outbox") // parents do not exist yet
	o, err := NewOutbox(dir, WithFrom(testFrom))
	if err != nil {
		t.Fatalf("NewOutbox: %v", err)
	}
	return o
}

func TestOutboxSendRoundTrip(t *testing.T) {
	o := newTestOutbox(t)
	if err := o.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	path := filepath.Join(o.Dir(), "disable-2fa.7f3a9c_01.eml")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(o.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want 0700", di.Mode().Perm())
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Message-ID: <disable-2fa.7f3a9c_01@guidedfix>\r\n",
		"Subject: =?UTF-8?q?Keselamatan_akaun_=E2=80=94_=E2=9C=93?=\r\n",
		"From: \"IP ServerOne\" <no-reply@ipserverone.example>\r\n",
		"To: <alice@example.com>\r\n",
		"Content-Type: text/plain; charset=UTF-8\r\n",
		"Content-Transfer-Encoding: quoted-printable\r\n",
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("file lacks %q:\n%s", want, raw)
		}
	}
	if !bytes.HasPrefix(raw, []byte("Date: ")) {
		t.Errorf("file does not start with a Date header")
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("file has a bare LF line end")
	}

	got, err := ReadEML(path)
	if err != nil {
		t.Fatalf("ReadEML: %v", err)
	}
	if got != testMsg {
		t.Errorf("ReadEML = %+v\nwant %+v", got, testMsg)
	}
}

func TestOutboxDefaultFrom(t *testing.T) {
	o, err := NewOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), testMsg); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(o.Path(testMsg.ID))
	if err != nil {
		t.Fatal(err)
	}
	if want := "From: \"guidedfix\" <no-reply@guidedfix.invalid>\r\n"; !bytes.Contains(raw, []byte(want)) {
		t.Errorf("file lacks %q:\n%s", want, raw)
	}
}

func TestOutboxSameIDOneFile(t *testing.T) {
	o := newTestOutbox(t)
	first, second := testMsg, testMsg
	second.Text = "second version\n"
	for _, m := range []Message{first, second} {
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	paths, err := o.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(o.Dir(), testMsg.ID+".eml")}
	if !slices.Equal(paths, want) {
		t.Fatalf("List = %q, want %q", paths, want)
	}
	entries, err := os.ReadDir(o.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want 1 (no temporary file left)", len(entries))
	}
	got, err := ReadEML(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != second.Text {
		t.Fatalf("Text = %q, want the last write %q", got.Text, second.Text)
	}
}

func TestOutboxListSorted(t *testing.T) {
	o := newTestOutbox(t)
	for _, id := range []string{"c-3", "a-1", "b-2"} {
		m := testMsg
		m.ID = id
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	// A write in progress and unrelated files are not listed.
	for _, name := range []string{".d-4.eml.123.tmp", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(o.Dir(), name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(o.Dir(), "dir.eml"), 0o700); err != nil {
		t.Fatal(err)
	}
	paths, err := o.List()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, id := range []string{"a-1", "b-2", "c-3"} {
		want = append(want, filepath.Join(o.Dir(), id+".eml"))
	}
	if !slices.Equal(paths, want) {
		t.Fatalf("List = %q, want %q", paths, want)
	}
}

func TestOutboxEmptyList(t *testing.T) {
	paths, err := newTestOutbox(t).List()
	if err != nil || len(paths) != 0 {
		t.Fatalf("List = %q, %v; want empty", paths, err)
	}
}

func TestOutboxBodyEdgeCases(t *testing.T) {
	o := newTestOutbox(t)
	for i, text := range []string{
		"",
		"no final newline",
		strings.Repeat("long line with = signs and ünïcödé ", 20) + "\n",
		"trailing spaces   \nand a tab\t\n",
		".\n..leading dots\n",
	} {
		m := testMsg
		m.ID = "edge-" + string(rune('a'+i))
		m.Text = text
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got, err := ReadEML(o.Path(m.ID))
		if err != nil {
			t.Fatalf("ReadEML: %v", err)
		}
		if got.Text != text {
			t.Errorf("text %d: got %q, want %q", i, got.Text, text)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []struct {
		name   string
		change func(*Message)
		want   string
	}{
		{"empty id", func(m *Message) { m.ID = "" }, "empty ID"},
		{"slash", func(m *Message) { m.ID = "a/b" }, `ID holds '/'`},
		{"traversal", func(m *Message) { m.ID = "../x" }, "must not start or end with '.'"},
		{"leading dot", func(m *Message) { m.ID = ".x" }, "must not start or end with '.'"},
		{"trailing dot", func(m *Message) { m.ID = "x." }, "must not start or end with '.'"},
		{"double dot", func(m *Message) { m.ID = "a..b" }, `contain ".."`},
		{"space", func(m *Message) { m.ID = "a b" }, `ID holds ' '`},
		{"at sign", func(m *Message) { m.ID = "a@b" }, `ID holds '@'`},
		{"non-ascii", func(m *Message) { m.ID = "é" }, `ID holds 'é'`},
		{"too long", func(m *Message) { m.ID = strings.Repeat("x", MaxIDLength+1) }, "201 bytes long"},
		{"empty to", func(m *Message) { m.To = "" }, "is not one e-mail address"},
		{"no domain", func(m *Message) { m.To = "alice" }, "is not one e-mail address"},
		{"two recipients", func(m *Message) { m.To = "a@example.com, b@example.com" }, "is not one e-mail address"},
		{"header injection in to", func(m *Message) { m.To = "a@example.com\r\nBcc: x@example.com" }, "is not one e-mail address"},
		{"newline in subject", func(m *Message) { m.Subject = "Hi\r\nBcc: x@example.com" }, "subject contains a line break"},
	}
	o := newTestOutbox(t)
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			m := testMsg
			tt.change(&m)
			err := m.Validate()
			if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want ErrInvalidMessage containing %q", err, tt.want)
			}
			if err := o.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Outbox.Send = %v, want ErrInvalidMessage", err)
			}
		})
	}
	if paths, _ := o.List(); len(paths) != 0 {
		t.Fatalf("invalid messages left files: %q", paths)
	}
	entries, _ := os.ReadDir(o.Dir())
	if len(entries) != 0 {
		t.Fatalf("invalid messages left %d directory entries", len(entries))
	}

	good := testMsg
	good.ID = strings.Repeat("x", MaxIDLength)
	good.To = "Alice Tan <alice@example.com>"
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v, want nil", good, err)
	}
	if got, want := testMsg.MessageID(), "<disable-2fa.7f3a9c_01@guidedfix>"; got != want {
		t.Fatalf("MessageID = %q, want %q", got, want)
	}
}

func TestOutboxDisplayNameRecipient(t *testing.T) {
	o := newTestOutbox(t)
	m := testMsg
	m.To = "Siti Nurhaliza <siti@example.my>"
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEML(o.Path(m.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got.To != "siti@example.my" {
		t.Fatalf("To = %q, want the bare address", got.To)
	}
}

func TestOutboxCancelledContext(t *testing.T) {
	o := newTestOutbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Send(ctx, testMsg); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if paths, _ := o.List(); len(paths) != 0 {
		t.Fatalf("files written: %q", paths)
	}
}

func TestNewOutboxErrors(t *testing.T) {
	if _, err := NewOutbox(""); err == nil {
		t.Error("NewOutbox(\"\"): no error")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewOutbox(file); err == nil {
		t.Error("NewOutbox(a file): no error")
	}
	if _, err := NewOutbox(t.TempDir(), WithFrom("not an address")); err == nil {
		t.Error("WithFrom(bad): no error")
	}
}

func TestReadEMLErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"missing.eml":   "",
		"garbage.eml":   "this is not a message",
		"multipart.eml": "To: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x--\r\n",
		"latin1.eml":    "To: a@example.com\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n\r\nhi\r\n",
		"noto.eml":      "Subject: hi\r\n\r\nhi\r\n",
	}
	for name, content := range cases {
		path := filepath.Join(dir, name)
		if name != "missing.eml" {
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := ReadEML(path); err == nil {
			t.Errorf("ReadEML(%s) = %+v, want an error", name, m)
		}
	}
}

func TestOutboxConcurrentSameID(t *testing.T) {
	o := newTestOutbox(t)
	errs := make(chan error, 16)
	for range 16 {
		go func() { errs <- o.Send(context.Background(), testMsg) }()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	entries, err := os.ReadDir(o.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != testMsg.ID+".eml" {
		t.Fatalf("directory = %v, want exactly %s.eml", entries, testMsg.ID)
	}
	if got, err := ReadEML(o.Path(testMsg.ID)); err != nil || got != testMsg {
		t.Fatalf("ReadEML = %+v, %v", got, err)
	}
}
