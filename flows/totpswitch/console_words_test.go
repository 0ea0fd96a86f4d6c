package totpswitch

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"guidedfix/bot"
)

// TestConsoleSaysChoose checks issue 14's rough edge: the terminal has no
// buttons to tap, so no text the console shows (the "@console" variant when
// there is one) tells the customer to tap, in English ("Tap") or Malay
// ("Tekan").
func TestConsoleSaysChoose(t *testing.T) {
	c := bot.NewCatalog()
	if err := c.Load(messages, "locales/en.yaml", "locales/ms.yaml"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("locales/en.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`(?m)^(totp\.[a-z_.]+):`).FindAllStringSubmatch(string(raw), -1)
	if len(ids) < 50 {
		t.Fatalf("read %d ids from en.yaml", len(ids))
	}
	data := map[string]any{"Steps": 5, "Step": 2, "Phone": "+60 ••• 12", "Email": "a@example.com", "Count": 3}
	tapped := 0
	for _, m := range ids {
		id := m[1]
		if strings.Contains(c.TextFor("en", "", id, data), "Tap ") {
			tapped++
		}
		for loc, word := range map[string]string{"en": "Tap ", "ms": "Tekan "} {
			if got := c.TextFor(loc, "console", id, data); strings.Contains(got, word) {
				t.Errorf("%s console text of %s says %q: %s", loc, id, word, got)
			}
		}
	}
	if tapped != 8 {
		t.Errorf("%d English texts say Tap on the chat platforms, want 8 (the console variants cover them)", tapped)
	}
}
