package mail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Outbox is a [Sender] that writes each message as an RFC 5322 file
// DIR/<ID>.eml instead of sending it, for the demo and for machines
// without SMTP. Any mail client opens the files. It is safe for
// concurrent use, also by several processes sharing the directory.
type Outbox struct {
	dir  string
	from string
}

var _ Sender = (*Outbox)(nil)

// OutboxOption changes a setting of [NewOutbox].
type OutboxOption func(*Outbox) error

// WithFrom sets the From header of the outbox's messages (default
// [DefaultFrom]). NewOutbox fails if from is not one RFC 5322 address.
func WithFrom(from string) OutboxOption {
	return func(o *Outbox) error {
		if _, err := netmail.ParseAddress(from); err != nil {
			return fmt.Errorf("mail: From %q is not one e-mail address: %w", from, err)
		}
		o.from = from
		return nil
	}
}

// NewOutbox returns an outbox writing into dir, creating dir (mode 0700,
// parents included) if it does not exist; an existing directory keeps its
// mode. It returns an error when dir is empty, cannot be created, is not a
// directory, or an option fails.
func NewOutbox(dir string, opts ...OutboxOption) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("mail: outbox directory is empty")
	}
	o := &Outbox{dir: dir, from: DefaultFrom}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: create outbox: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("mail: outbox: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("mail: outbox %s is not a directory", dir)
	}
	return o, nil
}

// Dir returns the directory the outbox writes into, as given to NewOutbox.
func (o *Outbox) Dir() string { return o.dir }

// Path returns the file an outbox keeps the message with this ID in:
// Dir()/<id>.eml. It does not validate id.
func (o *Outbox) Path(id string) string { return filepath.Join(o.dir, id+".eml") }

// Send writes m to Path(m.ID), mode 0600, as the same RFC 5322 bytes the
// SMTP sender would transmit (go-mail's Msg.WriteTo, CRLF line ends,
// UTF-8 quoted-printable body). The write is atomic: a temporary file in
// the same directory is synced and renamed over the target, so readers see
// the old file or the new one, never a partial one, and sending the same
// ID again replaces the file (last write wins) instead of adding one.
//
// Send returns an error wrapping [ErrInvalidMessage] when m fails
// [Message.Validate], ctx's error when ctx is already done, and an error
// naming m.ID when writing fails (disk full, permissions).
func (o *Outbox) Send(ctx context.Context, m Message) error {
	msg, err := compose(o.from, m, time.Now())
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("mail: render %q: %w", m.ID, err)
	}
	if err := writeAtomic(o.Path(m.ID), buf.Bytes()); err != nil {
		return fmt.Errorf("mail: outbox %q: %w", m.ID, err)
	}
	return nil
}

// writeAtomic writes data to a temporary file next to path (created 0600
// by os.CreateTemp), syncs it and renames it to path.
func writeAtomic(path string, data []byte) (err error) {
	dir, name := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable; a failure here leaves a complete
	// file and is not worth failing the send for.
	if d, derr := os.Open(filepath.Clean(dir)); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// List returns the paths of the outbox's .eml files, sorted by name (so by
// ID). Temporary files of writes in progress are not listed. It returns an
// error when the directory cannot be read.
func (o *Outbox) List() ([]string, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("mail: list outbox: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, ".eml") && !strings.HasPrefix(n, ".") {
			paths = append(paths, filepath.Join(o.dir, n))
		}
	}
	slices.Sort(paths)
	return paths, nil
}

// ReadEML parses the .eml file at path, as [Outbox.Send] writes it, back
// into a Message, for tests and the demo. ID is the Message-ID's left-hand
// side when its right-hand side is [MessageIDDomain], else the whole
// Message-ID without angle brackets; To is the bare address of the first
// To recipient (no display name); Subject is decoded from RFC 2047
// encoded words; Text is the body decoded from quoted-printable, base64,
// 7bit or 8bit (RFC 2045 §6) with CRLF line ends turned into LF.
//
// ReadEML returns an error when the file cannot be read, is not an RFC
// 5322 message, has no parseable To header, is multipart, or is in a
// charset other than UTF-8 or US-ASCII.
func ReadEML(path string) (Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return Message{}, fmt.Errorf("mail: read eml: %w", err)
	}
	defer f.Close()
	m, err := parseEML(f)
	if err != nil {
		return Message{}, fmt.Errorf("mail: read eml %s: %w", path, err)
	}
	return m, nil
}

func parseEML(r io.Reader) (Message, error) {
	msg, err := netmail.ReadMessage(bufio.NewReader(r))
	if err != nil {
		return Message{}, err
	}
	var out Message
	id := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(msg.Header.Get("Message-ID")), "<"), ">")
	out.ID = strings.TrimSuffix(id, "@"+MessageIDDomain)

	to, err := msg.Header.AddressList("To")
	if err != nil {
		return Message{}, fmt.Errorf("To header: %w", err)
	}
	if len(to) == 0 {
		return Message{}, errors.New("no To header")
	}
	out.To = to[0].Address

	var dec mime.WordDecoder
	if out.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("Subject header: %w", err)
	}

	if ct := msg.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return Message{}, fmt.Errorf("Content-Type: %w", err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			return Message{}, fmt.Errorf("Content-Type %s is not supported", mt)
		}
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
			return Message{}, fmt.Errorf("charset %q is not supported", cs)
		}
	}
	var body io.Reader = msg.Body
	switch cte := strings.ToLower(strings.TrimSpace(msg.Header.Get("Content-Transfer-Encoding"))); cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // ignores CR and LF
	case "", "7bit", "8bit", "binary":
	default:
		return Message{}, fmt.Errorf("Content-Transfer-Encoding %q is not supported", cte)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return Message{}, fmt.Errorf("body: %w", err)
	}
	out.Text = strings.ReplaceAll(string(text), "\r\n", "\n")
	return out, nil
}
