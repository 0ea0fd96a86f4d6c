// Package mail sends the e-mails guidedfix owes the account holder: the
// security alert when 2FA is disabled and the confirmation when the
// authenticator app is active. It sends through SMTP when SMTP is
// configured and otherwise writes each message as an .eml file into an
// outbox directory.
//
// [NewSMTP] returns the SMTP sender and [NewOutbox] the .eml outbox; both
// render the same RFC 5322 message (UTF-8, quoted-printable plain text,
// Message-ID "<ID@guidedfix>") with github.com/wneessen/go-mail, and both
// reject a Message that fails [Message.Validate]. Send the e-mail after
// the change it reports is committed, outside any store transaction, and
// never put a code or secret in it (security checklist item 15).
package mail

import "context"

// Message is one plain-text e-mail. It never carries a password, a code or
// a TOTP secret.
type Message struct {
	// ID is the message's stable id (letters, digits, '-', '_', '.'). It
	// becomes the Message-ID header's local part and the outbox file name,
	// so sending the same ID twice is recognisable as one message.
	ID string
	// To is the recipient's address.
	To string
	// Subject is the subject line (UTF-8).
	Subject string
	// Text is the plain-text body (UTF-8).
	Text string
}

// Sender delivers messages. Implementations are safe for concurrent use.
type Sender interface {
	// Send delivers m; it returns an error when the message was not
	// accepted (SMTP refusal, disk full). Sending a message whose ID was
	// already sent is allowed; an outbox keeps one file per ID.
	Send(ctx context.Context, m Message) error
}
