package entry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"guidedfix/bot"
	"guidedfix/internal/qr"
)

// Content-Security-Policy of the pages. No inline script or style, no
// third-party origin; the QR code is an inline data: image. Browser pages
// may not be framed; Mini App pages load Telegram's telegram-web-app.js and
// may be framed by Telegram Web (web.telegram.org), the only client that
// shows Mini Apps in an iframe.
const (
	cspBrowser = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	cspWebApp = "default-src 'none'; script-src 'self' https://telegram.org; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors https://web.telegram.org"
)

// maxForm is the largest accepted form body: a password, a code and
// Telegram's initData (a few hundred bytes) fit well.
const maxForm = 16 << 10

// secretTimeout bounds the turn a submitted secret starts.
const secretTimeout = 30 * time.Second

var page = template.Must(template.ParseFS(assets, "templates/page.html"))

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /e/{token}", s.getSecret)
	s.mux.HandleFunc("POST /e/{token}", s.postSecret)
	s.mux.HandleFunc("GET /q/{token}", s.getQR)
	s.mux.HandleFunc("POST /q/{token}", s.postQR)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
}

// ServeHTTP serves the pages under the path of Options.PublicURL:
// GET and POST /e/<token> (password or code), GET and POST /q/<token> (QR
// code), GET /static/… and GET /healthz. Every answer carries
// Cache-Control: no-store, Referrer-Policy: no-referrer,
// X-Content-Type-Options: nosniff and a Content-Security-Policy (see
// README "Entry page").
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	h.Set("Content-Security-Policy", cspBrowser)
	h.Set("X-Frame-Options", "DENY")
	if s.base.Scheme == "https" {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if p := s.base.Path; p != "" {
		rest, ok := strings.CutPrefix(r.URL.Path, p)
		if !ok || (rest != "" && rest[0] != '/') {
			http.NotFound(w, r)
			return
		}
		r2 := *r
		u := *r.URL
		u.Path, u.RawPath = rest, ""
		r2.URL = &u
		r = &r2
	}
	s.mux.ServeHTTP(w, r)
}

// view is the template's data.
type view struct {
	Lang    string
	Base    string
	State   string // password, sms_code, totp_code, qr_reveal, qr, received, error
	Heading string
	Problem string
	Message string
	WebApp  bool
	Done    bool
	QR      template.URL
	QRSize  int
	Key     string
	KeyRaw  string
	Account string

	locale string
	cat    *bot.Catalog
}

// T renders catalog message id in the page's locale.
func (v view) T(id string) string { return v.cat.Text(v.locale, id, nil) }

func (s *Server) render(w http.ResponseWriter, status int, v view) {
	v.cat = s.eng.Catalog()
	if v.Lang == "" {
		v.Lang = "en"
	}
	if v.locale == "" {
		v.locale = v.Lang
	}
	v.Base = s.base.Path
	if v.WebApp {
		w.Header().Set("Content-Security-Policy", cspWebApp)
		w.Header().Del("X-Frame-Options")
	}
	var b bytes.Buffer
	if err := page.Execute(&b, v); err != nil {
		s.log.Error("entry: render page", "state", v.State, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fail renders an error page with message id.
func (s *Server) fail(w http.ResponseWriter, status int, id string, webApp bool, locale string) {
	s.render(w, status, view{State: "error", Message: id, WebApp: webApp, locale: locale, Lang: lang(locale)})
}

// lang returns the primary subtag of a locale for <html lang>.
func lang(locale string) string {
	l, _, _ := strings.Cut(locale, "-")
	if l == "" {
		return "en"
	}
	return l
}

// tokenHash returns the SHA-256 of the request's token, or false for a
// token of the wrong shape.
func tokenHash(r *http.Request) ([32]byte, bool) {
	tok := r.PathValue("token")
	if b, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(b) != 16 {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(tok)), true
}

// lookup returns the secret link's record without spending it.
func (s *Server) lookup(ctx context.Context, h [32]byte) (record, error) {
	raw, err := s.opts.Tokens.EntryToken(ctx, h[:])
	if err != nil {
		return record{}, err
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return record{}, err
	}
	return rec, nil
}

// problem maps a lookup or step-check error to the page's status and
// message id.
func (s *Server) problem(w http.ResponseWriter, err error, webApp bool, locale string) {
	switch {
	case errors.Is(err, errNoToken):
		s.fail(w, http.StatusGone, "entry.error.invalid", webApp, locale)
	case errors.Is(err, errStale):
		s.fail(w, http.StatusConflict, "entry.error.stale", webApp, locale)
	default:
		s.log.Error("entry: page failed", "err", err)
		s.fail(w, http.StatusInternalServerError, "entry.error.internal", webApp, locale)
	}
}

func fieldView(f bot.SecretField) (state, heading string) {
	switch f {
	case bot.SecretPassword:
		return "password", "entry.password.heading"
	case bot.SecretSMSCode:
		return "sms_code", "entry.code.sms.heading"
	default:
		return "totp_code", "entry.code.totp.heading"
	}
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request) {
	h, ok := tokenHash(r)
	if !ok {
		s.problem(w, errNoToken, false, "")
		return
	}
	rec, err := s.lookup(r.Context(), h)
	if err != nil {
		s.problem(w, err, false, "")
		return
	}
	sess, err := s.current(r.Context(), rec)
	if err != nil {
		s.problem(w, err, rec.WebApp, "")
		return
	}
	st, heading := fieldView(rec.Field)
	s.render(w, http.StatusOK, view{State: st, Heading: heading, WebApp: rec.WebApp, locale: sess.Locale, Lang: lang(sess.Locale)})
}

// sameOrigin refuses a POST that a browser marks as coming from another
// site (a cross-site form): Sec-Fetch-Site other than same-origin or none
// (Fetch Metadata, W3C), or an Origin header naming another origin. Under
// Referrer-Policy no-referrer browsers send "Origin: null" for the page's
// own form, so "null" passes; the link's token stays the capability.
func (s *Server) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	return o == "" || o == "null" || o == s.origin
}

// checkWebApp validates the form's init_data for a Mini App record: signed
// for the bot, fresh, from the record's user in the user's private chat.
func (s *Server) checkWebApp(r *http.Request, rec record) bool {
	if !rec.WebApp {
		return true
	}
	d, err := ValidateInitData(r.PostFormValue("init_data"), s.opts.TelegramToken, s.opts.Now(), s.opts.InitDataMaxAge)
	if err != nil {
		s.log.Warn("entry: Mini App data refused", "conversation", rec.conversation().String(), "err", err)
		return false
	}
	uid := strconv.FormatInt(d.User.ID, 10)
	if uid != rec.User || uid != rec.Conv || (d.ChatType != "" && d.ChatType != "sender") {
		s.log.Warn("entry: Mini App data of another user or chat", "conversation", rec.conversation().String())
		return false
	}
	return true
}

func (s *Server) postSecret(w http.ResponseWriter, r *http.Request) {
	h, ok := tokenHash(r)
	if !ok || !s.sameOrigin(r) {
		s.problem(w, errNoToken, false, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	rec, err := s.lookup(ctx, h)
	if err != nil {
		s.problem(w, err, false, "")
		return
	}
	sess, err := s.current(ctx, rec)
	if err != nil {
		s.problem(w, err, rec.WebApp, "")
		return
	}
	if !s.checkWebApp(r, rec) {
		s.fail(w, http.StatusForbidden, "entry.error.telegram", true, sess.Locale)
		return
	}
	secret := bot.Secret(strings.TrimSpace(r.PostFormValue("secret")))
	if rec.Field == bot.SecretPassword {
		secret = bot.Secret(r.PostFormValue("secret")) // a password is taken as typed
	}
	if secret.Reveal() == "" || strings.TrimSpace(secret.Reveal()) == "" {
		st, heading := fieldView(rec.Field)
		s.render(w, http.StatusUnprocessableEntity, view{State: st, Heading: heading, Problem: "entry.empty", WebApp: rec.WebApp,
			locale: sess.Locale, Lang: lang(sess.Locale)})
		return
	}
	if _, err := s.opts.Tokens.SpendEntryToken(ctx, h[:]); err != nil {
		s.problem(w, err, rec.WebApp, sess.Locale)
		return
	}
	// The secret is the user's answer: it goes into the conversation as
	// the chat path's KindSecret event, with the step nonce the link was
	// issued for, so a step that passed meanwhile refuses it.
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), secretTimeout)
	defer cancel()
	ev := bot.Event{Conversation: rec.conversation(), UserID: rec.User, UpdateID: "entry:" + logID(h[:]),
		Kind: bot.KindSecret, Secret: secret, Data: rec.Nonce, Locale: sess.Locale}
	if err := s.eng.Handle(tctx, ev); err != nil {
		s.log.Error("entry: secret turn failed", "conversation", rec.conversation().String(), "link", logID(h[:]), "err", err)
		s.fail(w, http.StatusInternalServerError, "entry.error.internal", rec.WebApp, sess.Locale)
		return
	}
	s.log.Info("entry: secret handed to the conversation", "conversation", rec.conversation().String(), "link", logID(h[:]), "field", string(rec.Field))
	msg := "entry.received.code"
	if rec.Field == bot.SecretPassword {
		msg = "entry.received.password"
	}
	s.render(w, http.StatusOK, view{State: "received", Message: msg, WebApp: rec.WebApp, Done: true, locale: sess.Locale, Lang: lang(sess.Locale)})
}

// qrLookup returns the in-memory QR record of h.
func (s *Server) qrLookup(h [32]byte) (qrRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.qrs[h]
	if !ok || !s.opts.Now().Before(q.expires) {
		delete(s.qrs, h)
		return qrRecord{}, errNoToken
	}
	return q, nil
}

func (s *Server) getQR(w http.ResponseWriter, r *http.Request) {
	h, ok := tokenHash(r)
	if !ok {
		s.problem(w, errNoToken, false, "")
		return
	}
	q, err := s.qrLookup(h)
	if err != nil {
		s.problem(w, err, false, "")
		return
	}
	sess, err := s.current(r.Context(), q.record)
	if err != nil {
		s.problem(w, err, q.WebApp, "")
		return
	}
	s.render(w, http.StatusOK, view{State: "qr_reveal", WebApp: q.WebApp, locale: sess.Locale, Lang: lang(sess.Locale)})
}

func (s *Server) postQR(w http.ResponseWriter, r *http.Request) {
	h, ok := tokenHash(r)
	if !ok || !s.sameOrigin(r) {
		s.problem(w, errNoToken, false, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	q, err := s.qrLookup(h)
	if err != nil {
		s.problem(w, err, false, "")
		return
	}
	sess, err := s.current(r.Context(), q.record)
	if err != nil {
		s.problem(w, err, q.WebApp, "")
		return
	}
	if !s.checkWebApp(r, q.record) {
		s.fail(w, http.StatusForbidden, "entry.error.telegram", true, sess.Locale)
		return
	}
	png, err := qr.PNG(q.uri)
	if err != nil {
		s.problem(w, err, q.WebApp, sess.Locale)
		return
	}
	key, err := otp.NewKeyFromURL(q.uri)
	if err != nil {
		s.problem(w, err, q.WebApp, sess.Locale)
		return
	}
	v := view{State: "qr", WebApp: q.WebApp, locale: sess.Locale, Lang: lang(sess.Locale),
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		QRSize: qrSize(png), Key: qr.ManualKey(key.Secret()), KeyRaw: key.Secret()}
	v.cat = s.eng.Catalog()
	v.Account = v.cat.Text(sess.Locale, "entry.qr.account", map[string]any{"Label": label(key)})
	s.render(w, http.StatusOK, v)
}

// label returns "Issuer: account" of key.
func label(k *otp.Key) string {
	if k.Issuer() != "" {
		return k.Issuer() + ": " + k.AccountName()
	}
	return k.AccountName()
}

// qrSize returns the width of a PNG from its IHDR chunk (0 if unknown).
func qrSize(png []byte) int {
	if len(png) < 24 {
		return 0
	}
	return int(png[16])<<24 | int(png[17])<<16 | int(png[18])<<8 | int(png[19])
}
