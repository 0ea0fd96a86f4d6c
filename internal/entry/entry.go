// Package entry serves the secure entry page: a small server-rendered site
// (html/template, no build step) where a customer types a password or a
// code into a masked or one-time-code field, or looks at the QR code of a
// TOTP enrollment, instead of doing so in the chat. What the page receives
// goes into the conversation as the same bot.KindSecret event the chat
// path produces, and the conversation continues in the chat.
//
// Links are one-time capabilities. A secret link (/e/<token>) carries a
// 128-bit random token, is stored only as its SHA-256 (TokenStore, the
// session store's bbolt file), lives at most 10 minutes, is bound to the
// conversation, the user, the secret field and the engine's step nonce,
// and is spent by the form's POST only, never by a GET (link-preview
// fetchers and mail scanners open links). A QR link (/q/<token>) is held
// in memory only, never stored, and shows the code only after a POST, as
// often as needed while its step is current.
//
// Opened from Telegram as a Mini App, a link additionally needs the Mini
// App's initData, validated here (ValidateInitData) and bound to the
// conversation's user. Nothing typed on the page is logged or stored.
package entry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// Defaults of Options.
const (
	// MaxLinkTTL is the longest a link lives (and the default).
	MaxLinkTTL = 10 * time.Minute
	// DefaultInitDataMaxAge is how old a Mini App's auth_date may be.
	DefaultInitDataMaxAge = 5 * time.Minute
)

//go:embed locales/*.yaml
var messages embed.FS

//go:embed templates/*.html static/*
var assets embed.FS

// TokenStore keeps the records of secret links under the SHA-256 of their
// token; *store.Bolt implements it on sessions.db. Missing, spent and
// expired records are reported with store.ErrNoEntryToken.
type TokenStore interface {
	// PutEntryToken stores rec under hash until expires.
	PutEntryToken(ctx context.Context, hash []byte, rec []byte, expires time.Time) error
	// EntryToken returns the record under hash without spending it.
	EntryToken(ctx context.Context, hash []byte) ([]byte, error)
	// SpendEntryToken removes and returns the record under hash; of
	// concurrent calls exactly one gets it.
	SpendEntryToken(ctx context.Context, hash []byte) ([]byte, error)
}

// Options configure New.
type Options struct {
	// PublicURL is the page's public base URL behind the operator's HTTPS
	// terminator, e.g. "https://entry.example.com" or
	// "https://example.com/entry" (required; links are PublicURL + "/e/…").
	PublicURL string
	// Engine runs the conversations (required); New loads the page's texts
	// into its catalog.
	Engine *bot.Engine
	// Tokens stores the secret links (required).
	Tokens TokenStore
	// TelegramToken is the bot token Mini App initData is signed with;
	// without it Mini App links are not offered.
	TelegramToken string
	// TTL is how long a link lives; default and maximum MaxLinkTTL.
	TTL time.Duration
	// InitDataMaxAge is how old a Mini App's auth_date may be; default
	// DefaultInitDataMaxAge.
	InitDataMaxAge time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Logger receives operator logs: never a token, a typed value or a
	// key. Default slog.Default().
	Logger *slog.Logger
}

// Server is the entry page. It is an http.Handler; its methods are safe
// for concurrent use.
type Server struct {
	opts   Options
	base   *url.URL
	origin string
	eng    *bot.Engine
	log    *slog.Logger
	mux    *http.ServeMux

	mu  sync.Mutex
	qrs map[[32]byte]qrRecord
}

// record is a stored secret link.
type record struct {
	Channel string          `json:"channel"`
	Conv    string          `json:"conv"`
	User    string          `json:"user"`
	Field   bot.SecretField `json:"field"`
	Nonce   string          `json:"nonce"`
	WebApp  bool            `json:"web_app,omitempty"`
}

// qrRecord is a QR link, in memory only: it holds the otpauth URI.
type qrRecord struct {
	record
	uri     string
	expires time.Time
}

// New returns the entry page for opts. It returns an error when
// PublicURL is not an absolute http(s) URL, when Engine or Tokens is
// missing, or when the page's message file does not load.
func New(opts Options) (*Server, error) {
	u, err := url.Parse(strings.TrimSuffix(opts.PublicURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("entry: public URL %q must be an absolute https URL", opts.PublicURL)
	}
	if opts.Engine == nil || opts.Tokens == nil {
		return nil, errors.New("entry: Options.Engine and Options.Tokens are required")
	}
	if opts.TTL <= 0 || opts.TTL > MaxLinkTTL {
		opts.TTL = MaxLinkTTL
	}
	if opts.InitDataMaxAge <= 0 {
		opts.InitDataMaxAge = DefaultInitDataMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := opts.Engine.Catalog().Load(messages, "locales/en.yaml", "locales/ms.yaml"); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, base: u, origin: u.Scheme + "://" + u.Host, eng: opts.Engine, log: opts.Logger,
		qrs: map[[32]byte]qrRecord{}}
	s.routes()
	return s, nil
}

// newToken returns a fresh 128-bit token (base64url, 22 characters) and
// its SHA-256.
func newToken() (string, [32]byte) {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, sha256.Sum256([]byte(tok))
}

// link returns the public URL of path ("/e/<token>").
func (s *Server) link(path string) string {
	return s.base.String() + path
}

// SecretLink issues a one-time link for the secret field that session sess
// currently expects (sess.Expect), bound to its conversation, its user and
// its current step (Engine.Nonce). webApp makes the link a Telegram Mini
// App link, which also needs valid initData of sess.UserID; it is refused
// without Options.TelegramToken. It returns the absolute URL, or an error
// when sess expects no secret or the record cannot be stored.
func (s *Server) SecretLink(ctx context.Context, sess *bot.Session, webApp bool) (string, error) {
	if sess.Expect == bot.SecretNone {
		return "", errors.New("entry: the session expects no secret")
	}
	if webApp && s.opts.TelegramToken == "" {
		return "", errors.New("entry: Mini App links need the Telegram bot token")
	}
	rec := record{Channel: sess.Conversation.Channel, Conv: sess.Conversation.ID, User: sess.UserID,
		Field: sess.Expect, Nonce: s.eng.Nonce(sess), WebApp: webApp}
	raw, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	tok, h := newToken()
	if err := s.opts.Tokens.PutEntryToken(ctx, h[:], raw, s.opts.Now().Add(s.opts.TTL)); err != nil {
		return "", fmt.Errorf("entry: store link: %w", err)
	}
	return s.link("/e/" + tok), nil
}

// QRLink issues a link to a page that shows the QR code of uri (an
// otpauth:// URI) and its manual key, bound like SecretLink to sess's
// conversation, user and current step. The record, URI included, is kept
// in memory only; it is forgotten when it expires or the process stops.
// It returns the absolute URL, or an error for an empty uri or a Mini App
// link without Options.TelegramToken.
func (s *Server) QRLink(sess *bot.Session, uri string, webApp bool) (string, error) {
	if uri == "" {
		return "", errors.New("entry: empty QR content")
	}
	if webApp && s.opts.TelegramToken == "" {
		return "", errors.New("entry: Mini App links need the Telegram bot token")
	}
	tok, h := newToken()
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, q := range s.qrs {
		if !now.Before(q.expires) {
			delete(s.qrs, k)
		}
	}
	s.qrs[h] = qrRecord{record: record{Channel: sess.Conversation.Channel, Conv: sess.Conversation.ID, User: sess.UserID,
		Field: sess.Expect, Nonce: s.eng.Nonce(sess), WebApp: webApp}, uri: uri, expires: now.Add(s.opts.TTL)}
	return s.link("/q/" + tok), nil
}

// logID names a link in logs: the first 8 bytes of its token's hash.
func logID(h []byte) string { return hex.EncodeToString(h[:8]) }

// conversation returns the record's conversation.
func (r record) conversation() bot.Conversation {
	return bot.Conversation{Channel: r.Channel, ID: r.Conv}
}

// errStale means the record's step has passed.
var errStale = errors.New("entry: step has passed")

// current loads the record's session and checks that it still waits for
// the record's secret at the record's step; it returns the session, or
// errStale.
func (s *Server) current(ctx context.Context, r record) (*bot.Session, error) {
	sess, err := s.eng.Session(ctx, r.conversation())
	if errors.Is(err, bot.ErrNoSession) {
		return nil, errStale
	}
	if err != nil {
		return nil, err
	}
	if sess.Done || sess.Agent != "" || sess.UserID != r.User || s.eng.Nonce(sess) != r.Nonce || sess.Expect != r.Field {
		return nil, errStale
	}
	return sess, nil
}

// errNoToken is store.ErrNoEntryToken for in-memory QR links too.
var errNoToken = store.ErrNoEntryToken
