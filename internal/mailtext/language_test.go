package mailtext

import "testing"

// TestLanguage: a tag names a catalog language by its primary subtag,
// case aside; anything else is refused.
func TestLanguage(t *testing.T) {
	for tag, want := range map[string]string{"ms": "ms", "ms-MY": "ms", "MS": "ms", "en-GB": "en", "en": "en",
		"": "", "fr": "", "msa": "", "ms_MY": "", "ms\x00": "", "m\u00e9": "", "ms-MY-x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": ""} {
		got, ok := Language(tag)
		if got != want || ok != (want != "") {
			t.Errorf("Language(%q) = %q, %v; want %q", tag, got, ok, want)
		}
	}
}
