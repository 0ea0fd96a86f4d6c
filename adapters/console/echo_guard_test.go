package console

import "testing"

func TestShownLineAndColumns(t *testing.T) {
	c := New(Options{Commands: []string{"start", "cancel", "help", "newphone"}})
	for in, want := range map[string]string{
		"alice@example.com": "alice@example.com",
		"hello there":       "hello there",
		"/start":            "/start",
		"/cancel":           "/cancel",
		"/newphone":         "/newphone",
		"Secret-Passw0rd":   maskedText,
		"123 456":           maskedText,
		"ok\x1b[2J":         "ok\ufffd[2J",
	} {
		if got := c.shownLine(in); got != want {
			t.Errorf("shownLine(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]int{"you › ab": 8, "ａｂ": 4, "密码": 4, "a\x01": 3, "": 0} {
		if got := columns(in); got != want {
			t.Errorf("columns(%q) = %d, want %d", in, got, want)
		}
	}
}
