package mail

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestBackoffDelay(t *testing.T) {
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := DefaultBackoff.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := (Backoff{}).Delay(0); got != 30*time.Second {
		t.Errorf("zero Backoff Delay(0) = %s", got)
	}
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if DefaultBackoff.GiveUp(first, first.Add(24*time.Hour-time.Second)) || !DefaultBackoff.GiveUp(first, first.Add(24*time.Hour)) {
		t.Error("GiveUp does not switch at 24 h")
	}
}

func TestPermanent(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		perm bool
	}{
		{nil, 0, false},
		{errors.New("dial tcp: connection refused"), 0, false},
		{&textproto.Error{Code: 451, Msg: "try again"}, 451, false},
		{fmt.Errorf("wrapped: %w", &textproto.Error{Code: 550, Msg: "no such user"}), 550, true},
		{fmt.Errorf("%w: empty To", ErrInvalidMessage), 0, true},
	} {
		if got := ReplyCode(c.err); got != c.code {
			t.Errorf("ReplyCode(%v) = %d, want %d", c.err, got, c.code)
		}
		if got := Permanent(c.err); got != c.perm {
			t.Errorf("Permanent(%v) = %v, want %v", c.err, got, c.perm)
		}
	}
}

// TestSMTPReplyCodes: the codes a real server answers reach ReplyCode
// through go-mail's SendError.
func TestSMTPReplyCodes(t *testing.T) {
	for _, code := range []int{451, 550} {
		ts := startServer(t, serverOpts{})
		ts.dataErr = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 3, 0}, Message: "refused"}
		s := mustNewSMTP(t, ts.config(TLSNone), nil)
		err := s.Send(context.Background(), Message{ID: "m1", To: "a@example.com", Subject: "s", Text: "t"})
		if got := ReplyCode(err); got != code {
			t.Errorf("ReplyCode = %d, want %d (err %v)", got, code, err)
		}
		if got := Permanent(err); got != (code >= 500) {
			t.Errorf("Permanent(%d) = %v", code, got)
		}
	}
}
