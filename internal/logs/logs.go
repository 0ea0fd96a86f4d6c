// Package logs builds guidedfix's log handler (log/slog): every record
// logged with a context that carries a turn's correlation id (package
// corr) gets it as "turn"; chat and user ids are replaced by a keyed hash
// (HMAC-SHA256) so that the lines of one conversation can still be
// grouped without the id in clear; and errors are always under the key
// "err".
package logs

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"guidedfix/internal/corr"
)

// TurnKey is the attribute that carries a turn's correlation id.
const TurnKey = "turn"

// idKeys are the attribute keys whose values are chat or user ids.
var idKeys = map[string]bool{"conversation": true, "user": true, "user_id": true, "chat": true, "chat_id": true, "staff": true}

// Redactor replaces chat and user ids with keyed hashes and renames
// "error" attributes to "err". It is safe for concurrent use; the zero
// value is not usable, call [NewRedactor].
type Redactor struct {
	key atomic.Pointer[[]byte]
}

// NewRedactor returns a Redactor with a random key until [Redactor.SetKey].
func NewRedactor() *Redactor {
	r := &Redactor{}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	r.key.Store(&k)
	return r
}

// SetKey sets the HMAC key (e.g. derived from the portal key, so that a
// conversation's hash is the same after a restart).
func (r *Redactor) SetKey(key []byte) {
	k := append([]byte(nil), key...)
	r.key.Store(&k)
}

// Hash returns the keyed hash of id: the first 12 hex digits of
// HMAC-SHA256(key, id). A conversation "telegram:4242" keeps its channel:
// "telegram:3f2a…".
func (r *Redactor) Hash(id string) string {
	channel, rest, ok := strings.Cut(id, ":")
	m := hmac.New(sha256.New, *r.key.Load())
	m.Write([]byte(id))
	h := hex.EncodeToString(m.Sum(nil))[:12]
	if ok && rest != "" && !strings.ContainsAny(channel, " \t") {
		return channel + ":" + h
	}
	return h
}

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr: it hashes the values
// of conversation, user, user_id, chat, chat_id and staff, and renames
// "error" to "err".
func (r *Redactor) ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Key == "error" {
		a.Key = "err"
	}
	if idKeys[a.Key] {
		if s := a.Value.Resolve().String(); s != "" {
			a.Value = slog.StringValue(r.Hash(s))
		}
	}
	return a
}

// New returns a logger writing text or JSON ("json") at level to w through
// r and with the turn id of each record's context.
func New(w io.Writer, level slog.Leveler, format string, r *Redactor) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: r.ReplaceAttr}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(turnHandler{h})
}

// turnHandler adds the context's correlation id to each record.
type turnHandler struct{ slog.Handler }

func (h turnHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := corr.ID(ctx); id != "" {
		rec.AddAttrs(slog.String(TurnKey, id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h turnHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return turnHandler{h.Handler.WithAttrs(attrs)}
}

func (h turnHandler) WithGroup(name string) slog.Handler {
	return turnHandler{h.Handler.WithGroup(name)}
}
