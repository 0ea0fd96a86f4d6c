package slack

import "errors"

// ErrWrongMethod is matched (errors.Is) by a *WrongMethodError: Desk.HandOff
// refused because the account's 2FA method does not suit the guided fix;
// staff get slack.staff.wrong_method and nothing is created or sent.
var ErrWrongMethod = errors.New("slack: the account's 2FA method does not suit the guided fix")

// WrongMethodError is Desk.HandOff's refusal for an account using 2FA
// method Has ("sms", "totp" or "none") when the flow needs Needs.
type WrongMethodError struct {
	Has, Needs string
}

// Error names both methods.
func (e *WrongMethodError) Error() string {
	return ErrWrongMethod.Error() + ": account uses " + e.Has + ", flow needs " + e.Needs
}

// Is makes errors.Is(err, ErrWrongMethod) true.
func (e *WrongMethodError) Is(target error) bool { return target == ErrWrongMethod }

// wrongMethodData adds to data the staff's words for err's methods (Has,
// Needs: catalog texts slack.staff.method.<method>) and reports whether
// err is a *WrongMethodError.
func (a *Adapter) wrongMethodData(err error, data map[string]any) bool {
	var wm *WrongMethodError
	if !errors.As(err, &wm) {
		return false
	}
	data["Has"], data["Needs"] = a.methodText(wm.Has), a.methodText(wm.Needs)
	return true
}

// methodText is the staff's words for 2FA method m; m itself when unknown.
func (a *Adapter) methodText(m string) string {
	switch m {
	case "sms":
		return a.staffText("slack.staff.method.sms", nil)
	case "totp":
		return a.staffText("slack.staff.method.totp", nil)
	case "none":
		return a.staffText("slack.staff.method.none", nil)
	}
	return escape(m)
}
