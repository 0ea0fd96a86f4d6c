package mailtext

import "strings"

// Languages are the tags of the languages the e-mail catalogs are written
// in (locales/*.yaml), English first.
var Languages = []string{"en", "ms"}

// Language returns the entry of Languages that tag (a BCP 47 tag, RFC
// 5646: "ms", "ms-MY", "EN-gb") names by its primary language subtag, and
// true; it returns "", false for "", a malformed tag (anything but 1 to 35
// ASCII letters, digits and '-') or a language without a catalog. A core
// stores the result as an account's language.
func Language(tag string) (string, bool) {
	if tag == "" || len(tag) > 35 {
		return "", false
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return "", false
		}
	}
	base, _, _ := strings.Cut(strings.ToLower(tag), "-")
	for _, l := range Languages {
		if base == l {
			return l, true
		}
	}
	return "", false
}
