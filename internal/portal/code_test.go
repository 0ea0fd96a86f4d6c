package portal

import (
	"testing"
	"unicode"
)

func TestNormalizeCode(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"123456", "123456", true},
		{" 123 456 ", "123456", true},
		{"123-456", "123456", true},
		{"012345", "012345", true},
		{"０１２３４５", "012345", true},       // full-width
		{"٠١٢٣٤٥", "012345", true},       // Arabic-Indic
		{"۰۱۲۳۴۵", "012345", true},       // extended Arabic-Indic
		{"०१२३४५", "012345", true},       // Devanagari
		{"123\u2013456", "123456", true}, // en dash
		{"123\t456\n", "123456", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"12a456", "", false},
		{"", "", false},
		{"      ", "", false},
		{"123.456", "", false},
		{"¹²³⁴⁵⁶", "", false}, // superscripts are not decimal digits (No, not Nd)
		{"12345６7", "", false},
	}
	for _, tc := range tests {
		got, ok := NormalizeCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestDecimalDigitRanges checks the invariant digitValue relies on: every
// range of unicode.Nd has stride 1 and spans whole runs of ten digits, so
// the value of a digit is its distance from the range start modulo 10.
func TestDecimalDigitRanges(t *testing.T) {
	check := func(lo, hi, stride uint32) {
		if stride != 1 || (hi-lo+1)%10 != 0 {
			t.Errorf("Nd range %U-%U stride %d: not whole runs of 10", lo, hi, stride)
		}
	}
	for _, r := range unicode.Nd.R16 {
		check(uint32(r.Lo), uint32(r.Hi), uint32(r.Stride))
	}
	for _, r := range unicode.Nd.R32 {
		check(r.Lo, r.Hi, r.Stride)
	}
	if len(unicode.Nd.R16)+len(unicode.Nd.R32) < 50 {
		t.Fatalf("only %d Nd ranges", len(unicode.Nd.R16)+len(unicode.Nd.R32))
	}
}
