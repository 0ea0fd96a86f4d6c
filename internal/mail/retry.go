package mail

import (
	"errors"
	"net/textproto"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Backoff says when a message the server did not accept is tried again:
// the n-th retry waits Initial·2^(n-1), at most Max, and retries stop
// once GiveUpAfter has passed since the first failed attempt.
type Backoff struct {
	// Initial is the wait before the first retry.
	Initial time.Duration
	// Max caps the wait between two attempts.
	Max time.Duration
	// GiveUpAfter is how long after the first failure a message is
	// still retried.
	GiveUpAfter time.Duration
}

// DefaultBackoff retries after 30 s, doubling to at most 15 min, for 24 h
// (so a server down for a night still gets every message; RFC 5321
// §4.5.4.1 asks a client to retry for at least 4-5 days, but these
// e-mails report a change made now and lose their point after a day).
var DefaultBackoff = Backoff{Initial: 30 * time.Second, Max: 15 * time.Minute, GiveUpAfter: 24 * time.Hour}

// Delay returns the wait after the attempt-th failed attempt (attempt 1
// is the first failure): Initial doubled attempt-1 times, capped at Max.
// Zero fields take DefaultBackoff's values; attempt < 1 counts as 1.
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.withDefaults()
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// GiveUp reports whether a message that first failed at first is no
// longer retried at now.
func (b Backoff) GiveUp(first, now time.Time) bool {
	return !now.Before(first.Add(b.withDefaults().GiveUpAfter))
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	if b.GiveUpAfter <= 0 {
		b.GiveUpAfter = DefaultBackoff.GiveUpAfter
	}
	return b
}

// Permanent reports whether err, returned by a [Sender], is a permanent
// refusal that sending again cannot fix: an SMTP 5yz reply (RFC 5321
// §4.2.1 "permanent negative completion") or an invalid message
// ([ErrInvalidMessage]). A 4yz reply, a connection or TLS failure, a
// timeout and any other error are transient: try again later.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	if code := ReplyCode(err); code != 0 {
		return code >= 500 && code < 600
	}
	return false
}

// ReplyCode returns the three-digit SMTP reply code (RFC 5321 §4.2) the
// server answered with when err reports one, and 0 otherwise (no
// connection, TLS failure, a Sender that is not SMTP).
func ReplyCode(err error) int {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		if c := se.ErrorCode(); c >= 200 && c < 600 {
			return c
		}
	}
	return 0
}
