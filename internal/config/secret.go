package config

import (
	"fmt"
	"log/slog"
)

// Secret is a configuration value that must not be printed or logged: a
// token, a password or a key. Every way of formatting it (fmt verbs
// including %#v, slog, encoding.TextMarshaler as used by encoding/json and
// YAML encoders) yields "REDACTED" when it is set and "" when it is empty,
// so a log line still tells whether it is configured. Use [Secret.Reveal]
// where the value is needed.
type Secret string

// Reveal returns the secret's value. Call it only where the value is
// handed to the library that needs it.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is not empty.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) redacted() string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// String returns "REDACTED", or "" when the secret is empty.
func (s Secret) String() string { return s.redacted() }

// Format implements [fmt.Formatter] so that every verb, %#v and %x
// included, prints [Secret.String] (quoted for %q and %#v).
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.redacted())
	case 'v':
		if f.Flag('#') {
			fmt.Fprintf(f, "%q", s.redacted())
			return
		}
		fmt.Fprint(f, s.redacted())
	default:
		fmt.Fprint(f, s.redacted())
	}
}

// LogValue implements [slog.LogValuer]: "REDACTED", or "" when empty.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// MarshalText implements [encoding.TextMarshaler]: "REDACTED", or "" when
// empty. The value cannot be written out by marshalling a Config.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }
