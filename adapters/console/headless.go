package console

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"guidedfix/bot"
)

// Headless is the deliverer of the console channel while no terminal runs
// it (guidedfix serve): the engine's sweeper still ends an abandoned demo
// session (its deadline passes, SMS 2FA is restored), and Headless carries
// out the deletes of that session's QR code images in QRDir, so that no
// image of a TOTP secret stays on disk. Nobody reads the texts: they are
// logged by reply id only (never their content) and count as delivered.
type Headless struct {
	// QRDir is the console's QR image directory (QRDir(dataDir)); only
	// files directly in it are deleted.
	QRDir string
	// Logger receives a line per reply; nil means slog.Default().
	Logger *slog.Logger
}

var _ bot.Deliverer = Headless{}

// Deliver deletes the QR image an OpDelete names (a ".png" path in
// QRDir; a file already gone is no error) and drops every other reply. It
// returns "" and the removal's error, if any.
func (h Headless) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	if r.Op == bot.OpDelete && strings.HasSuffix(r.MessageID, ".png") {
		dir, err := filepath.Abs(h.QRDir)
		if err != nil {
			return "", err
		}
		path, err := filepath.Abs(r.MessageID)
		if err != nil || filepath.Dir(path) != dir {
			log.Warn("console: QR image outside the QR directory not deleted", "reply", r.ID)
			return "", nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		log.Info("console: QR image of an ended session deleted", "conversation", to.String())
		return "", nil
	}
	log.Info("console: reply not shown, no terminal is running the demo", "conversation", to.String(), "reply", r.ID, "op", string(r.Op))
	return "", nil
}
