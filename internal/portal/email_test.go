package portal

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	// 64 + 1 + 189 = 254 bytes: the longest address accepted.
	domain189 := strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com"
	tests := []struct {
		in   string
		want string // "" means ErrEmailFormat
	}{
		{"alice@example.com", "alice@example.com"},
		{"  Alice@Example.COM ", "alice@example.com"},
		{"ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "alice@example.com"},
		{"ＡＬＩＣＥ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "alice@example.com"},
		{"\u3000alice@example.com\u3000", "alice@example.com"}, // ideographic spaces
		{local64 + "@" + domain189, local64 + "@" + domain189},
		{local64 + "a@example.com", ""},                              // 65-byte local part
		{local64 + "@" + domain189[:len(domain189)-4] + "x.com", ""}, // 255 bytes
		{strings.Repeat("x", 100000) + "@example.com", ""},
		{"Alice <alice@example.com>", ""},
		{"alice@example.com (work)", ""},
		{"alice", ""},
		{"@example.com", ""},
		{"", ""},
		{"   ", ""},
		{"alice@example.com, bob@example.com", ""},
		{"ali\x00ce@example.com", ""},
		{"ali\u200bce@example.com", ""}, // zero-width space is not an atom character
	}
	for _, tc := range tests {
		got, err := NormalizeEmail(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrEmailFormat) || got != "" {
				t.Errorf("NormalizeEmail(%.40q) = %q, %v; want ErrEmailFormat", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%.40q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if n := len(local64 + "@" + domain189); n != MaxEmailBytes {
		t.Fatalf("test address is %d bytes, want %d", n, MaxEmailBytes)
	}
}

// TestNormalizeEmailRefusesInvalidUTF8 (fixcore item 2): bytes that are
// not UTF-8 after an otherwise valid address are ErrEmailFormat.
func TestNormalizeEmailRefusesInvalidUTF8(t *testing.T) {
	for _, in := range []string{"frank@example.com\xff\xfe", "fr\xc3ank@example.com", "\xfffrank@example.com"} {
		if got, err := NormalizeEmail(in); !errors.Is(err, ErrEmailFormat) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrEmailFormat", in, got, err)
		}
	}
}
