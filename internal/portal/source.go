package portal

import "context"

// sourceKey is the context key of the failure source; unexported so only
// WithSource can set it.
type sourceKey struct{}

// WithSource returns a copy of ctx that names source as the origin of the
// portal calls made with it: the platform user who typed the password or
// code, as "<channel>:<user id>" (e.g. "telegram:12345", "slack:U012AB3CD",
// "console:local"). The core counts failures per source as well as per
// account, so one source's wrong guesses throttle that source before they
// can lock the account for its owner (OWASP ASVS 5 §6.3, NIST SP 800-63B
// §5.2.2). An empty source leaves ctx unchanged.
func WithSource(ctx context.Context, source string) context.Context {
	if source == "" {
		return ctx
	}
	return context.WithValue(ctx, sourceKey{}, source)
}

// SourceFromContext returns the source set by WithSource, or "" when ctx
// carries none (an operator command, a deadline sweep).
func SourceFromContext(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}
