package mail

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// MessageIDDomain is the right-hand side of every Message-ID header this
// package writes: Message.ID "abc" becomes "<abc@guidedfix>".
const MessageIDDomain = "guidedfix"

// MaxIDLength is the longest accepted [Message.ID], in bytes. It keeps the
// outbox file name under the 255-byte limit of common file systems.
const MaxIDLength = 200

// DefaultFrom is the From address an [Outbox] uses unless told otherwise
// with [WithFrom]. The .invalid top-level domain (RFC 2606 §2) cannot be
// delivered to, so a demo message that leaks out goes nowhere.
const DefaultFrom = "guidedfix <no-reply@guidedfix.invalid>"

// ErrInvalidMessage is returned, wrapped with the reason, by [Message.Validate]
// and by every Send in this package when a Message cannot be sent as is.
var ErrInvalidMessage = errors.New("mail: invalid message")

// Validate reports why m cannot be sent, or nil. It returns an error
// wrapping [ErrInvalidMessage] when
//   - ID is empty, longer than [MaxIDLength], holds a byte other than
//     ASCII letters, digits, '.', '_' and '-', starts or ends with '.' or
//     holds "..", so that "<ID@guidedfix>" is a valid RFC 5322 §3.6.4
//     msg-id and ID a safe file name;
//   - To is not exactly one RFC 5322 address (net/mail.ParseAddress);
//   - Subject holds a CR or LF.
func (m Message) Validate() error {
	if err := validateID(m.ID); err != nil {
		return err
	}
	if _, err := netmail.ParseAddress(m.To); err != nil {
		return fmt.Errorf("%w %q: recipient %q is not one e-mail address: %v", ErrInvalidMessage, m.ID, m.To, err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w %q: subject contains a line break", ErrInvalidMessage, m.ID)
	}
	return nil
}

// MessageID returns the Message-ID header value for m: "<" + m.ID + "@" +
// [MessageIDDomain] + ">" (RFC 5322 §3.6.4). It does not validate m.ID.
func (m Message) MessageID() string {
	return "<" + m.ID + "@" + MessageIDDomain + ">"
}

func validateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty ID", ErrInvalidMessage)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: ID is %d bytes long, at most %d allowed", ErrInvalidMessage, len(id), MaxIDLength)
	case id[0] == '.' || id[len(id)-1] == '.' || strings.Contains(id, ".."):
		return fmt.Errorf("%w %q: ID must not start or end with '.' or contain \"..\"", ErrInvalidMessage, id)
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w %q: ID holds %q; only letters, digits, '.', '_' and '-' are allowed", ErrInvalidMessage, id, c)
		}
	}
	return nil
}

// compose validates m and builds the go-mail message: From, To, Subject,
// Date (now), Message-ID from m.ID, MIME-Version and a UTF-8 text/plain
// body in quoted-printable (RFC 2045 §6.7).
func compose(from string, m Message, now time.Time) (*gomail.Msg, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: message %q: From %q: %w", m.ID, from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("%w %q: To: %v", ErrInvalidMessage, m.ID, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@" + MessageIDDomain)
	msg.SetDateWithValue(now)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}
