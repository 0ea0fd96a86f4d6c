package console_test

import (
	"os"
	"path/filepath"
	"testing"

	"guidedfix/adapters/console"
	"guidedfix/bot"
)

// TestHeadlessDeletesOnlyQRImages: Headless deletes a QR image in its
// directory, leaves a ".png" elsewhere, and drops texts without error.
func TestHeadlessDeletesOnlyQRImages(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	inside, outside := filepath.Join(dir, "qr-1.png"), filepath.Join(other, "photo.png")
	for _, p := range []string{inside, outside} {
		if err := os.WriteFile(p, []byte("png"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := console.Headless{QRDir: dir}
	c := bot.Conversation{Channel: console.Channel, ID: "local"}
	for _, r := range []bot.Reply{
		{Op: bot.OpSend, ID: "totp.expired", Text: "expired"},
		{Op: bot.OpDelete, ID: "qr", MessageID: inside},
		{Op: bot.OpDelete, ID: "qr", MessageID: inside}, // already gone
		{Op: bot.OpDelete, ID: "qr", MessageID: outside},
	} {
		if id, err := h.Deliver(t.Context(), c, r); id != "" || err != nil {
			t.Fatalf("Deliver(%s): %q, %v", r.ID, id, err)
		}
	}
	if _, err := os.Stat(inside); !os.IsNotExist(err) {
		t.Fatalf("the QR image is still there: %v", err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("a file outside the QR directory was touched: %v", err)
	}
}
