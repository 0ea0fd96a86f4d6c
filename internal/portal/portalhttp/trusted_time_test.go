package portalhttp_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/portal/portaltest"
)

// claimedTime is a client that states its own clock in every header a
// server might read a time from (Date, X-Request-Time, X-Client-Time,
// X-Timestamp in Unix seconds).
type claimedTime struct {
	at   time.Time
	next http.RoundTripper
}

func (c claimedTime) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Date", c.at.UTC().Format(http.TimeFormat))
	r.Header.Set("X-Request-Time", c.at.UTC().Format(time.RFC3339))
	r.Header.Set("X-Client-Time", c.at.UTC().Format(time.RFC3339))
	r.Header.Set("X-Timestamp", strconv.FormatInt(c.at.Unix(), 10))
	return c.next.RoundTrip(r)
}

// TestTOTPUsesTheServerClock is security checklist §5 #28 (trusted time,
// ASVS 5 6.5.8): a TOTP code is checked against the portal server's
// clock only. The client claims a time one hour ahead of the server in
// every time header; a code valid at the client's time is refused (and
// counted as a wrong code) when confirming the enrollment, while the code
// of the server's time passes. A
// code of the test host's wall clock (the server runs on a fixed test
// clock) is refused too, so nothing but the server's own clock decides.
func TestTOTPUsesTheServerClock(t *testing.T) {
	var skew claimedTime
	e := newEnv(t, envOpts{client: func(o *portalhttp.ClientOptions) {
		skew = claimedTime{at: portaltest.Start.Add(time.Hour), next: http.DefaultTransport}
		o.HTTPClient = &http.Client{Transport: &skew}
	}})
	ctx := context.Background()
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	g, err := e.client.VerifyPassword(ctx, a.ID, portaltest.Password)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.client.SendSMSChallenge(ctx, g.Token, "sms-1")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := e.sms.LastCode(portaltest.AlicePhone)
	eg, err := e.client.VerifySMSChallenge(ctx, g.Token, ch.ID, code)
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.client.BeginTOTPEnrollment(ctx, eg.Token, "begin-1")
	if err != nil {
		t.Fatal(err)
	}
	// distinct reports whether the code of at matches none of the three
	// steps the server accepts around its own now (RFC 6238 §5.2).
	distinct := func(at time.Time) string {
		c := portaltest.Code(t, en.Secret, at)
		for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
			if c == portaltest.Code(t, en.Secret, e.clock.Now().Add(d)) {
				t.Skipf("the code of %v collides with the server's window (1 in ~300000)", at)
			}
		}
		return c
	}

	err = e.client.ConfirmTOTPEnrollment(ctx, en.ID, distinct(skew.at), "confirm-1")
	portaltest.WantBadCode(t, err, 4)
	err = e.client.ConfirmTOTPEnrollment(ctx, en.ID, distinct(time.Now()), "confirm-2")
	portaltest.WantBadCode(t, err, 3)
	if err := e.client.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "confirm-3"); err != nil {
		t.Fatalf("code of the server's time: %v", err)
	}
	if st, err := e.core.SecurityStatus(ctx, a.ID); err != nil || st.Method != portal.MethodTOTP {
		t.Fatalf("method %q, %v; want totp", st.Method, err)
	}

	// The embedded core's own TOTP check (VerifyTOTP, not part of the
	// HTTP contract) reads the same clock: a code of the host's wall clock
	// is refused, the server clock's code passes.
	e.clock.Advance(2 * time.Minute)
	var bc *portal.BadCodeError
	if err := e.core.VerifyTOTP(ctx, a.ID, distinct(time.Now())); !errors.As(err, &bc) {
		t.Fatalf("VerifyTOTP with the wall clock's code: %v, want a BadCodeError", err)
	}
	if err := e.core.VerifyTOTP(ctx, a.ID, portaltest.Code(t, en.Secret, e.clock.Now())); err != nil {
		t.Fatalf("VerifyTOTP with the server's time: %v", err)
	}
}

// TestChatEventsCarryNoTime: the other half of checklist §5 #28 — a chat
// platform's message date (Telegram's message.date, Slack's ts) cannot
// reach a TOTP check, because the event the adapters hand to the engine
// has no time field at all.
func TestChatEventsCarryNoTime(t *testing.T) {
	timeType := reflect.TypeFor[time.Time]()
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty == timeType || ty == reflect.TypeFor[time.Duration]() {
			t.Errorf("%s is a %s: a chat-supplied time could reach the flows", path, ty)
			return
		}
		if ty.Kind() != reflect.Struct {
			return
		}
		for f := range ty.Fields() {
			walk(f.Type, path+"."+f.Name)
		}
	}
	walk(reflect.TypeFor[bot.Event](), "bot.Event")
}
