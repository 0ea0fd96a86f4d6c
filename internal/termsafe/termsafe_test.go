package termsafe

import (
	"testing"
	"unicode"
)

func TestField(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"alice@example.com", "alice@example.com"},
		{"Siti Nurhaliza 😀 Ünïcödé �", "Siti Nurhaliza 😀 Ünïcödé �"},
		{"\x1b[31mred\x1b[0m", "red"},
		{"\x1b[2J\x1b[H", ""},
		{"\x1b[?25l", ""},
		{"\x1b]0;pwned\x07name", "name"},
		{"\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"\x1bPq#0;1;2\x1b\\after", "after"},
		{"\x1b(Bx", "x"},
		{"\x1bcx", "x"},
		{"\x1b", ""},
		{"\x1b[31", ""},
		{"\u009b31mred", "red"},
		{"\u009d0;t\u009cok", "ok"},
		{"Bob\nunlocked alice", `Bob\nunlocked alice`},
		{"a\tb\rc", `a\tb\rc`},
		{"bell\x07", `bell\x07`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"nel\u0085", `nel\u0085`},
		{"evil\u202eexe.txt", `evil\u202eexe.txt`},
		{"\u2066x\u2069", `\u2066x\u2069`},
		{"bad\xffbyte", `bad\xffbyte`},
	}
	for _, tc := range tests {
		if got := Field(tc.in); got != tc.want {
			t.Errorf("Field(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFieldNeverLeavesControls: whatever goes in, no control or bidi
// character comes out.
func TestFieldNeverLeavesControls(t *testing.T) {
	var all []rune
	for r := rune(0); r < 0x3000; r++ {
		all = append(all, r)
	}
	for _, s := range []string{string(all), "\x1b[" + string(all), "\x1b]" + string(all)} {
		for _, r := range Field(s) {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
				t.Fatalf("Field left %U", r)
			}
		}
	}
}

func FuzzField(f *testing.F) {
	f.Add("\x1b[31mx\x1b]0;t\x07\u009b1m")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range Field(s) {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
				t.Fatalf("Field(%q) left %U", s, r)
			}
		}
	})
}
