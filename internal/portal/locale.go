package portal

import "context"

// localeKey is the context key of the chat's language; unexported so only
// WithLocale can set it.
type localeKey struct{}

// WithLocale returns a copy of ctx that names locale (a BCP 47 tag such
// as "ms" or "en-GB") as the language of the chat the portal calls made
// with it come from. A core gives an account without a language of its
// own (Account.Locale) the language passed with a successful Disable2FA
// or ConfirmTOTPEnrollment, the two calls that prove the holder; every
// e-mail to the account is then written in it. portalhttp sends it as the
// Guidedfix-Locale header (api/portal.openapi.yaml). An empty locale
// leaves ctx unchanged.
func WithLocale(ctx context.Context, locale string) context.Context {
	if locale == "" {
		return ctx
	}
	return context.WithValue(ctx, localeKey{}, locale)
}

// LocaleFromContext returns the locale set by WithLocale, or "" when ctx
// carries none (an operator command, a call from another client).
func LocaleFromContext(ctx context.Context) string {
	s, _ := ctx.Value(localeKey{}).(string)
	return s
}
