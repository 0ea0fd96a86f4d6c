package portaltest

import (
	"errors"
	"time"

	"guidedfix/internal/portal"
)

// WantClockDrift fails t unless err is a *portal.BadCodeError with left
// attempts and DriftSteps steps (0: a plain wrong code, which must then
// not match portal.ErrClockDrift).
func WantClockDrift(t testingT, err error, left, steps int) {
	t.Helper()
	var bc *portal.BadCodeError
	if !errors.As(err, &bc) || bc.AttemptsLeft != left || bc.DriftSteps != steps || errors.Is(err, portal.ErrClockDrift) != (steps != 0) || !errors.Is(err, portal.ErrBadCode) {
		t.Fatalf("error = %v (%+v), want BadCodeError with %d attempts left and drift %d", err, bc, left, steps)
	}
}

// testingT is the part of *testing.T the helpers use.
type testingT interface {
	Helper()
	Fatalf(format string, args ...any)
}

// testConfirmClockDrift: a code of a step 2 to portal.MaxDriftSteps steps
// away is refused and counted like a wrong code, with the drift reported
// (RFC 6238 §6); one farther away is a plain wrong code; the enrollment
// stays pending and the right code then activates.
func testConfirmClockDrift(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	now := s.Now()
	step := 30 * time.Second
	err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, now.Add(5*step)), "c1")
	WantClockDrift(s.t, err, 4, 5)
	err = s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, now.Add(-portal.MaxDriftSteps*step)), "c1")
	WantClockDrift(s.t, err, 3, -portal.MaxDriftSteps)
	err = s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, now.Add((portal.MaxDriftSteps+1)*step)), "c1")
	WantClockDrift(s.t, err, 2, 0)
	if st, m := s.state(e.ID), s.method(a.ID); st != portal.EnrollmentPending || m != portal.MethodSMS {
		s.t.Fatalf("after drifted codes: enrollment %q, method %q; want pending, sms", st, m)
	}
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, now), "c1"); err != nil {
		s.t.Fatalf("the right code after drifted ones: %v", err)
	}
}

// testReplacementClockDrift: ConfirmTOTPReplacement reports a drifted
// clock the same way.
func testReplacementClockDrift(s *suite) {
	a, oldSecret, _ := s.totpAlice(0)
	e, err := s.Core.BeginTOTPReplacement(s.ctx, s.totpElevated(a, oldSecret).Token, "replace-1")
	if err != nil {
		s.t.Fatal(err)
	}
	err = s.Core.ConfirmTOTPReplacement(s.ctx, e.ID, Code(s.t, e.Secret, s.Now().Add(-3*30*time.Second)), "c1")
	WantClockDrift(s.t, err, 4, -3)
	if err := s.Core.ConfirmTOTPReplacement(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c1"); err != nil {
		s.t.Fatalf("the right code after a drifted one: %v", err)
	}
}
