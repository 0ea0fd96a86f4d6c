package portalteam

// teamServer is an in-memory implementation of every operation of
// api/portal.openapi.yaml, written from that document alone. It keeps
// passwords, SMS codes and recovery codes only as keyed hashes, and delivers
// SMS codes to an in-memory phone the test reads.

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Problem type URIs (components.schemas.ProblemType) and their statuses (from
// the document's Problem examples).
const (
	pNotFound    = "not-found"
	pBadPassword = "bad-password"
	pLocked      = "locked"
	pBadCode     = "bad-code"
	pClockDrift  = "clock-drift"
	pCodeFormat  = "code-format"
	pReplayed    = "code-replayed"
	pExpired     = "expired"
	pBadGrant    = "bad-grant"
	pNeedElev    = "need-elevation"
	pWrongState  = "wrong-state"
	pIdemMis     = "idempotency-mismatch"
	pInvalid     = "invalid-request"
	pUnauth      = "unauthorized"
)

var problemStatus = map[string]int{
	pNotFound: 404, pBadPassword: 422, pLocked: 429, pBadCode: 422, pClockDrift: 422, pCodeFormat: 422,
	pReplayed: 409, pExpired: 410, pBadGrant: 403, pNeedElev: 403, pWrongState: 409,
	pIdemMis: 422, pInvalid: 400, pUnauth: 401,
}

// problem is an RFC 9457 problem with the contract's extension members.
type problem struct {
	Type         string     `json:"type"`
	Title        string     `json:"title"`
	Status       int        `json:"status"`
	Detail       string     `json:"detail,omitempty"`
	RetryAfter   *time.Time `json:"retryAfter,omitempty"`
	SMSLimit     *bool      `json:"smsLimit,omitempty"`
	AttemptsLeft *int       `json:"attemptsLeft,omitempty"`
	DriftSteps   *int       `json:"driftSteps,omitempty"`
	Method       string     `json:"method,omitempty"`
}

func (p *problem) Error() string { return p.Type }

func prob(kind string) *problem {
	return &problem{Type: "urn:guidedfix:problem:" + kind, Title: kind, Status: problemStatus[kind]}
}

type account struct {
	id, email, name, phone, method string
	createdAt                      time.Time
	pwHash                         []byte
	failures                       []time.Time // password failures of every source (per account)
	lockedUntil                    time.Time
	locks                          int               // account locks of the current streak
	sources                        map[string]*limit // per Guidedfix-Source ("" for none)
	smsSent                        []time.Time
	challenge                      string // the current challenge id
	totpSecret                     string
	usedSteps                      map[int64]bool
	pendingDisable                 bool // lost its factor to a disable not yet restored or followed by TOTP
	recoveryHashes                 [][]byte
}

// limit is one source's failures and throttle on one account.
type limit struct {
	failures    []time.Time
	lockedUntil time.Time
	locks       int
}

// lockFor is the length of lock number n of a streak: 15 min doubling,
// at most 24 h (document "Failure limits").
func lockFor(n int) time.Duration {
	d := 15 * time.Minute
	for ; n > 0 && d < 24*time.Hour; n-- {
		d *= 2
	}
	return min(d, 24*time.Hour)
}

func within15(ts []time.Time, now time.Time) []time.Time {
	var out []time.Time
	for _, t := range ts {
		if now.Sub(t) < 15*time.Minute {
			out = append(out, t)
		}
	}
	return out
}

type grant struct {
	accountID, level string
	expiresAt, proof time.Time
}

type challenge struct {
	accountID    string
	codeHash     []byte
	expiresAt    time.Time
	attemptsLeft int
}

type disableRec struct {
	accountID, method, phone string
}

type enrollment struct {
	id, accountID, secret, uri, state string
	expiresAt, confirmedAt            time.Time
	attemptsLeft                      int
	replace                           bool // begun by beginTOTPReplacement
}

type idemRec struct {
	fingerprint string
	status      int
	ctype       string
	body        []byte
}

// sms is one message delivered to the in-memory phone.
type sms struct {
	to, text, code string
}

type teamServer struct {
	mu          sync.Mutex
	tokens      []string
	key         []byte
	now         func() time.Time
	accounts    map[string]*account
	grants      map[string]*grant
	challenges  map[string]*challenge
	disables    map[string]*disableRec
	enrollments map[string]*enrollment
	idem        map[string]*idemRec
	phone       []sms
	calls       map[string]int // operationId -> calls answered (replays excluded)
	// atomicSwitch is the capability of that name (enroll-then-switch);
	// false makes guidedfix run disable-then-enroll.
	atomicSwitch bool
}

func newTeamServer(tokens ...string) *teamServer {
	s := &teamServer{
		tokens: tokens, key: randBytes(32), now: time.Now,
		accounts: map[string]*account{}, grants: map[string]*grant{},
		challenges: map[string]*challenge{}, disables: map[string]*disableRec{},
		enrollments: map[string]*enrollment{}, idem: map[string]*idemRec{},
		calls: map[string]int{}, atomicSwitch: true,
	}
	return s
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func randID(prefix string) string {
	return prefix + base64.RawURLEncoding.EncodeToString(randBytes(9))
}

func (s *teamServer) mac(parts ...string) []byte {
	h := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// addAccount creates an account with SMS 2FA and returns its id.
func (s *teamServer) addAccount(email, name, phone, password string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &account{id: randID("acc_"), email: email, name: name, phone: phone, method: "sms",
		createdAt: s.now().UTC().Truncate(time.Second), usedSteps: map[int64]bool{}}
	a.pwHash = s.mac("pw", a.id, password)
	s.accounts[a.id] = a
	return a.id
}

func (s *teamServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/capabilities", s.op("getCapabilities", false, s.capabilities))
	mux.HandleFunc("POST /v1/accounts/lookup", s.op("lookupAccount", false, s.lookup))
	mux.HandleFunc("POST /v1/accounts/unknown-id", s.op("unknownAccount", false, s.unknownID))
	mux.HandleFunc("GET /v1/accounts/{accountId}", s.op("getAccount", false, s.getAccount))
	mux.HandleFunc("GET /v1/accounts/{accountId}/security-status", s.op("getSecurityStatus", false, s.status))
	mux.HandleFunc("POST /v1/password/verify", s.op("verifyPassword", true, s.verifyPassword))
	mux.HandleFunc("POST /v1/grants/reauthenticate", s.op("reauthenticate", true, s.reauth))
	mux.HandleFunc("POST /v1/sms-challenges", s.op("sendSMSChallenge", true, s.sendSMS))
	mux.HandleFunc("POST /v1/sms-challenges/verify", s.op("verifySMSChallenge", true, s.verifySMS))
	mux.HandleFunc("POST /v1/second-factor/disable", s.op("disable2FA", true, s.disable))
	mux.HandleFunc("POST /v1/second-factor/restore", s.op("restoreFactor", true, s.restore))
	mux.HandleFunc("POST /v1/totp-enrollments", s.op("beginTOTPEnrollment", true, s.begin))
	mux.HandleFunc("POST /v1/totp-enrollments/confirm", s.op("confirmTOTPEnrollment", true, s.confirm))
	mux.HandleFunc("POST /v1/totp-enrollments/recovery-codes", s.op("issueRecoveryCodes", true, s.recoveryCodes))
	mux.HandleFunc("POST /v1/totp-enrollments/cancel", s.op("cancelTOTPEnrollment", true, s.cancel))
	mux.HandleFunc("POST /v1/totp-enrollments/state", s.op("getEnrollmentState", false, s.enrollmentState))
	mux.HandleFunc("POST /v1/grants/elevate-totp", s.op("elevateWithTOTP", true, s.elevateTOTP))
	mux.HandleFunc("POST /v1/grants/elevate-recovery", s.op("elevateWithRecoveryCode", true, s.elevateRecovery))
	mux.HandleFunc("POST /v1/totp-replacements", s.op("beginTOTPReplacement", true, s.beginReplace))
	mux.HandleFunc("POST /v1/totp-replacements/confirm", s.op("confirmTOTPReplacement", true, s.confirmReplace))
	mux.HandleFunc("POST /v1/password/in-text", s.op("passwordInText", false, s.passwordInText))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			writeProblem(w, prob(pUnauth))
			return
		}
		writeProblem(w, prob(pNotFound))
	})
	return mux
}

// req is what an operation handler gets: the decoded body and path values.
type req struct {
	r      *http.Request
	body   []byte
	source string
}

func (q *req) decode(v any, required ...string) *problem {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(q.body, &m); err != nil {
		p := prob(pInvalid)
		p.Detail = "body is not a JSON object"
		return p
	}
	for _, k := range required {
		// The document's "Request bodies": a required member that is
		// missing or null is invalid-request.
		if raw, ok := m[k]; !ok || string(raw) == "null" {
			p := prob(pInvalid)
			p.Detail = k + " is required"
			return p
		}
	}
	if err := json.Unmarshal(q.body, v); err != nil {
		p := prob(pInvalid)
		p.Detail = "body does not match the schema"
		return p
	}
	return nil
}

// changeOps are the operations whose key names a change (the document's
// "Idempotency").
var changeOps = map[string]bool{"sendSMSChallenge": true, "disable2FA": true, "restoreFactor": true,
	"beginTOTPEnrollment": true, "confirmTOTPEnrollment": true}

type handlerFunc func(q *req) (status int, v any, p *problem)

func (s *teamServer) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	good := 0
	for _, t := range s.tokens {
		good |= subtle.ConstantTimeCompare([]byte(t), []byte(tok))
	}
	return good == 1
}

// op wraps an operation: bearer auth, body reading, the Idempotency-Key
// header (required when keyed) with first-answer replay, and the answer.
func (s *teamServer) op(name string, keyed bool, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			writeProblem(w, prob(pUnauth))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			writeProblem(w, prob(pInvalid))
			return
		}
		q := &req{r: r, body: body, source: r.Header.Get("Guidedfix-Source")}
		s.mu.Lock()
		defer s.mu.Unlock()
		var key, fp string
		if keyed {
			key = r.Header.Get("Idempotency-Key")
			if len(key) < 1 || len(key) > 200 {
				p := prob(pInvalid)
				p.Detail = "Idempotency-Key header of 1..200 bytes is required"
				writeProblem(w, p)
				return
			}
			// The document's "Idempotency": another operation, body or
			// Guidedfix-Source under the same key is a mismatch.
			fp = hex.EncodeToString(s.mac("fp", name, q.source, string(body)))
			if rec, ok := s.idem[key]; ok {
				if subtle.ConstantTimeCompare([]byte(rec.fingerprint), []byte(fp)) != 1 {
					writeProblem(w, prob(pIdemMis))
					return
				}
				w.Header().Set("Content-Type", rec.ctype)
				w.WriteHeader(rec.status)
				w.Write(rec.body)
				return
			}
		}
		s.calls[name]++
		status, v, p := h(q)
		var out []byte
		ctype := "application/json"
		if p != nil {
			status, ctype = p.Status, "application/problem+json"
			out, _ = json.Marshal(p)
		} else if v != nil {
			out, _ = json.Marshal(v)
		}
		// Bound to the key: every answer but a 5xx and invalid-request;
		// for a change operation only the change (a refused change binds
		// nothing, so its retry runs again).
		if keyed && status != http.StatusInternalServerError && (p == nil || (p.Type != prob(pInvalid).Type && !changeOps[name])) {
			s.idem[key] = &idemRec{fingerprint: fp, status: status, ctype: ctype, body: out}
		}
		if p != nil && p.RetryAfter != nil {
			// Delay-seconds, rounded up, at least 1 (document "Retry-After").
			w.Header().Set("Retry-After", strconv.Itoa(max(int(time.Until(*p.RetryAfter).Seconds()+0.999), 1)))
		}
		if out != nil {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		w.Write(out)
	}
}

func writeProblem(w http.ResponseWriter, p *problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *teamServer) capabilities(q *req) (int, any, *problem) {
	return 200, map[string]any{"contractVersion": "1", "atomicSwitch": s.atomicSwitch, "restoreFactor": true, "recoveryCodes": true, "replaceTOTP": true}, nil
}

func accountJSON(a *account) map[string]any {
	return map[string]any{"id": a.id, "email": a.email, "name": a.name, "phone": a.phone,
		"method": a.method, "createdAt": rfc3339(a.createdAt)}
}

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func (s *teamServer) lookup(q *req) (int, any, *problem) {
	var in struct{ Email string }
	if p := q.decode(&in, "email"); p != nil {
		return 0, nil, p
	}
	for _, a := range s.accounts {
		if normEmail(a.email) == normEmail(in.Email) {
			return 200, accountJSON(a), nil
		}
	}
	return 0, nil, prob(pNotFound)
}

func (s *teamServer) unknownID(q *req) (int, any, *problem) {
	var in struct{ Email string }
	if p := q.decode(&in, "email"); p != nil {
		return 0, nil, p
	}
	return 200, map[string]any{"accountId": "unknown:" + hex.EncodeToString(s.mac("unknown", normEmail(in.Email)))}, nil
}

func (s *teamServer) getAccount(q *req) (int, any, *problem) {
	a, ok := s.accounts[q.r.PathValue("accountId")]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	return 200, accountJSON(a), nil
}

// maskPhone keeps the first 3 and the last 4 characters, as in the
// document's example "+60•••••6789".
func maskPhone(p string) string {
	if len(p) < 8 {
		return strings.Repeat("•", len(p))
	}
	return p[:3] + strings.Repeat("•", len(p)-7) + p[len(p)-4:]
}

func (s *teamServer) status(q *req) (int, any, *problem) {
	a, ok := s.accounts[q.r.PathValue("accountId")]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	return 200, map[string]any{"accountId": a.id, "method": a.method, "maskedPhone": maskPhone(a.phone), "recoveryCodes": len(a.recoveryHashes)}, nil
}

func lockedProblem(until time.Time, smsLimit bool) *problem {
	p := prob(pLocked)
	u := until.UTC()
	p.RetryAfter, p.SMSLimit = &u, &smsLimit
	return p
}

// checkPassword applies the document's "Failure limits" to a password
// check from source (Guidedfix-Source, "" for none): 5 failures of one
// source within 15 minutes throttle that source on the account, 20 of all
// sources lock the account for everyone, each further lock of a streak
// doubles (at most 24 h), a success clears the source's failures and ends
// every streak (the account's own count stays); the failure that
// reaches a limit is answered locked already. Unknown ids ("unknown:…")
// get an account-like failure record of their own.
func (s *teamServer) checkPassword(accountID, source, password string) (*account, *problem) {
	now := s.now()
	a, ok := s.accounts[accountID]
	if !ok {
		a = &account{id: accountID}
		if strings.HasPrefix(accountID, "unknown:") {
			s.accounts[accountID] = a // counts and locks like a real account; never matches
		}
	}
	if a.sources == nil {
		a.sources = map[string]*limit{}
	}
	src := a.sources[source]
	if src == nil {
		src = &limit{}
		a.sources[source] = src
	}
	if now.Before(src.lockedUntil) {
		return nil, lockedProblem(src.lockedUntil, false)
	}
	if now.Before(a.lockedUntil) {
		return nil, lockedProblem(a.lockedUntil, false)
	}
	if a.pwHash != nil && hmac.Equal(a.pwHash, s.mac("pw", a.id, password)) {
		src.failures, a.locks = nil, 0 // this source starts over; every streak ends
		for _, l := range a.sources {
			l.locks = 0
		}
		return a, nil
	}
	a.failures = append(within15(a.failures, now), now)
	src.failures = append(within15(src.failures, now), now)
	if len(a.failures) >= 20 {
		a.lockedUntil, a.failures = now.Add(lockFor(a.locks)), nil
		a.locks++
		return nil, lockedProblem(a.lockedUntil, false)
	}
	if len(src.failures) >= 5 {
		src.lockedUntil, src.failures = now.Add(lockFor(src.locks)), nil
		src.locks++
		return nil, lockedProblem(src.lockedUntil, false)
	}
	return nil, prob(pBadPassword)
}

func (s *teamServer) newGrant(accountID, level string, life time.Duration, proof time.Time) (string, map[string]any) {
	tok := base64.RawURLEncoding.EncodeToString(randBytes(16))
	g := &grant{accountID: accountID, level: level, expiresAt: s.now().Add(life), proof: proof}
	s.grants[tok] = g
	return tok, grantJSON(tok, g)
}

func grantJSON(tok string, g *grant) map[string]any {
	return map[string]any{"token": tok, "accountId": g.accountID, "level": g.level, "expiresAt": rfc3339(g.expiresAt)}
}

func (s *teamServer) verifyPassword(q *req) (int, any, *problem) {
	var in struct{ AccountID, Password string }
	if p := q.decode(&in, "accountId", "password"); p != nil {
		return 0, nil, p
	}
	a, p := s.checkPassword(in.AccountID, q.source, in.Password)
	if p != nil {
		return 0, nil, p
	}
	_, g := s.newGrant(a.id, "password", 5*time.Minute, s.now())
	return 200, g, nil
}

func (s *teamServer) reauth(q *req) (int, any, *problem) {
	var in struct{ GrantToken, Password string }
	if p := q.decode(&in, "grantToken", "password"); p != nil {
		return 0, nil, p
	}
	g, ok := s.grants[in.GrantToken]
	if !ok {
		return 0, nil, prob(pBadGrant)
	}
	now := s.now()
	if now.Sub(g.proof) >= 20*time.Minute {
		return 0, nil, prob(pExpired)
	}
	if _, p := s.checkPassword(g.accountID, q.source, in.Password); p != nil {
		return 0, nil, p
	}
	life := 5 * time.Minute
	if left := g.proof.Add(20 * time.Minute).Sub(now); left < life {
		life = left
	}
	_, out := s.newGrant(g.accountID, g.level, life, g.proof)
	return 200, out, nil
}

// liveGrant resolves an unexpired grant: bad-grant for an unknown token,
// expired for an expired one.
func (s *teamServer) liveGrant(tok string) (*grant, *account, *problem) {
	g, ok := s.grants[tok]
	if !ok {
		return nil, nil, prob(pBadGrant)
	}
	if !s.now().Before(g.expiresAt) {
		return nil, nil, prob(pExpired)
	}
	a, ok := s.accounts[g.accountID]
	if !ok || a.pwHash == nil {
		return nil, nil, prob(pBadGrant)
	}
	return g, a, nil
}

func wrongState(method string) *problem {
	p := prob(pWrongState)
	p.Method = method
	return p
}

func (s *teamServer) sendSMS(q *req) (int, any, *problem) {
	var in struct{ GrantToken string }
	if p := q.decode(&in, "grantToken"); p != nil {
		return 0, nil, p
	}
	_, a, p := s.liveGrant(in.GrantToken)
	if p != nil {
		return 0, nil, p
	}
	if a.method != "sms" {
		return 0, nil, wrongState(a.method)
	}
	now := s.now()
	var recent []time.Time
	for _, t := range a.smsSent {
		if now.Sub(t) < 15*time.Minute {
			recent = append(recent, t)
		}
	}
	a.smsSent = recent
	if len(recent) >= 5 {
		return 0, nil, lockedProblem(recent[0].Add(15*time.Minute), true)
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	code := fmt.Sprintf("%06d", n.Int64())
	id := randID("ch_")
	c := &challenge{accountID: a.id, codeHash: s.mac("sms", id, code), expiresAt: now.Add(5 * time.Minute), attemptsLeft: 3}
	s.challenges[id] = c
	a.challenge = id
	a.smsSent = append(a.smsSent, now)
	s.phone = append(s.phone, sms{to: a.phone, text: "Your Customer Portal code is " + code, code: code})
	return 200, map[string]any{"id": id, "maskedPhone": maskPhone(a.phone), "expiresAt": rfc3339(c.expiresAt), "attemptsLeft": c.attemptsLeft}, nil
}

// normCode maps Unicode decimal digits to ASCII and drops white space; ok is
// false unless exactly 6 digits remain.
func normCode(in string) (string, bool) {
	var b strings.Builder
	for _, r := range in {
		switch {
		case unicode.IsSpace(r):
		case unicode.IsDigit(r):
			d := digitValue(r)
			if d < 0 {
				return "", false
			}
			b.WriteByte(byte('0' + d))
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == 6
}

func digitValue(r rune) int {
	// Unicode decimal digits come in contiguous runs of ten, each starting
	// at its zero; walk down to the start of the run.
	z := r
	for z > 0 && unicode.IsDigit(z-1) {
		z--
	}
	return int(r-z) % 10
}

func (s *teamServer) verifySMS(q *req) (int, any, *problem) {
	var in struct{ GrantToken, ChallengeID, Code string }
	if p := q.decode(&in, "grantToken", "challengeId", "code"); p != nil {
		return 0, nil, p
	}
	// The document's order: code format, grant, challenge, code.
	code, ok := normCode(in.Code)
	if !ok {
		return 0, nil, prob(pCodeFormat)
	}
	g, a, p := s.liveGrant(in.GrantToken)
	if p != nil {
		return 0, nil, p
	}
	c, ok := s.challenges[in.ChallengeID]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	if c.accountID != a.id {
		return 0, nil, prob(pBadGrant) // another account's challenge
	}
	if a.challenge != in.ChallengeID || c.attemptsLeft <= 0 || !s.now().Before(c.expiresAt) {
		return 0, nil, prob(pExpired)
	}
	if !hmac.Equal(c.codeHash, s.mac("sms", in.ChallengeID, code)) {
		c.attemptsLeft--
		if c.attemptsLeft == 0 {
			return 0, nil, prob(pExpired)
		}
		p := prob(pBadCode)
		left := c.attemptsLeft
		p.AttemptsLeft = &left
		return 0, nil, p
	}
	c.attemptsLeft = 0 // single use
	g.level, g.proof, g.expiresAt = "elevated", s.now(), s.now().Add(10*time.Minute)
	return 200, grantJSON(in.GrantToken, g), nil
}

func (s *teamServer) disable(q *req) (int, any, *problem) {
	var in struct{ GrantToken string }
	if p := q.decode(&in, "grantToken"); p != nil {
		return 0, nil, p
	}
	g, a, p := s.liveGrant(in.GrantToken)
	if p != nil {
		return 0, nil, p
	}
	if g.level != "elevated" {
		return 0, nil, prob(pNeedElev)
	}
	if a.method == "none" {
		return 0, nil, wrongState(a.method)
	}
	s.disables[q.r.Header.Get("Idempotency-Key")] = &disableRec{accountID: a.id, method: a.method, phone: a.phone}
	a.method, a.pendingDisable = "none", true
	return 204, nil, nil
}

func (s *teamServer) restore(q *req) (int, any, *problem) {
	var in struct{ DisableKey string }
	if p := q.decode(&in, "disableKey"); p != nil {
		return 0, nil, p
	}
	d, ok := s.disables[in.DisableKey]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	a := s.accounts[d.accountID]
	if a.method != "none" || d.method != "sms" {
		return 0, nil, wrongState(a.method)
	}
	a.method, a.phone, a.pendingDisable = "sms", d.phone, false
	for _, e := range s.enrollments {
		if e.accountID == a.id && e.state == "pending" {
			e.state, e.secret = "void", ""
		}
	}
	return 204, nil, nil
}

func enrollmentJSON(e *enrollment, a *account) map[string]any {
	return map[string]any{"id": e.id, "accountId": e.accountID, "uri": e.uri, "secret": e.secret,
		"issuer": "Customer Portal", "label": a.email, "expiresAt": rfc3339(e.expiresAt), "attemptsLeft": e.attemptsLeft}
}

func (s *teamServer) begin(q *req) (int, any, *problem) {
	var in struct{ GrantToken string }
	if p := q.decode(&in, "grantToken"); p != nil {
		return 0, nil, p
	}
	g, a, p := s.liveGrant(in.GrantToken)
	if p != nil {
		return 0, nil, p
	}
	if a.method == "totp" {
		return 0, nil, wrongState(a.method)
	}
	if (a.method != "none" || a.pendingDisable) && g.level != "elevated" {
		return 0, nil, prob(pNeedElev)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Customer Portal", AccountName: a.email, SecretSize: 20})
	if err != nil {
		return 500, nil, &problem{Type: "urn:guidedfix:problem:internal", Title: "internal", Status: 500}
	}
	for _, e := range s.enrollments {
		if e.accountID == a.id && e.state == "pending" {
			e.state, e.secret = "void", ""
		}
	}
	e := &enrollment{id: randID("en_"), accountID: a.id, secret: key.Secret(), uri: key.URL(),
		state: "pending", expiresAt: s.now().Add(10 * time.Minute), attemptsLeft: 5}
	s.enrollments[e.id] = e
	return 200, enrollmentJSON(e, a), nil
}

var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func (s *teamServer) confirm(q *req) (int, any, *problem) {
	var in struct{ EnrollmentID, Code string }
	if p := q.decode(&in, "enrollmentId", "code"); p != nil {
		return 0, nil, p
	}
	e, ok := s.enrollments[in.EnrollmentID]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	a := s.accounts[e.accountID]
	now := s.now()
	if e.state == "pending" && !now.Before(e.expiresAt) {
		e.state, e.secret = "void", ""
	}
	if e.state != "pending" { // void or confirmed: expired, as the reference answers
		return 0, nil, prob(pExpired)
	}
	if a.method == "totp" {
		return 0, nil, wrongState(a.method)
	}
	code, ok := normCode(in.Code)
	if !ok {
		return 0, nil, prob(pCodeFormat)
	}
	step := now.Unix() / 30
	for d := int64(-1); d <= 1; d++ {
		want, err := totp.GenerateCodeCustom(e.secret, time.Unix((step+d)*30, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			if a.usedSteps[step+d] {
				return 0, nil, prob(pReplayed)
			}
			a.usedSteps[step+d] = true
			a.method, a.totpSecret, a.pendingDisable = "totp", e.secret, false
			e.state, e.confirmedAt, e.secret = "confirmed", now, ""
			for tok, g := range s.grants { // the method changed: the account's grants end
				if g.accountID == a.id {
					delete(s.grants, tok)
				}
			}
			return 204, nil, nil
		}
	}
	e.attemptsLeft--
	if e.attemptsLeft <= 0 {
		e.state, e.secret = "void", ""
		return 0, nil, prob(pExpired)
	}
	return 0, nil, s.wrongFirstCode(e.secret, code, e.attemptsLeft)
}

const recoveryAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func (s *teamServer) recoveryCodes(q *req) (int, any, *problem) {
	var in struct {
		EnrollmentID string
		Count        int
	}
	if p := q.decode(&in, "enrollmentId", "count"); p != nil {
		return 0, nil, p
	}
	if in.Count < 1 || in.Count > 20 {
		p := prob(pInvalid)
		p.Detail = "count must be within 1..20"
		return 0, nil, p
	}
	e, ok := s.enrollments[in.EnrollmentID]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	a := s.accounts[e.accountID]
	if e.state != "confirmed" {
		return 0, nil, wrongState(a.method)
	}
	if s.now().Sub(e.confirmedAt) > 10*time.Minute {
		return 0, nil, prob(pExpired)
	}
	return 200, map[string]any{"codes": s.newRecoveryCodes(a, in.Count)}, nil
}

// newRecoveryCodes replaces a's recovery codes by n new ones.
func (s *teamServer) newRecoveryCodes(a *account, n int) []string {
	codes := make([]string, n)
	a.recoveryHashes = nil
	for i := range codes {
		var b bytes.Buffer
		for j := 0; j < 15; j++ { // XXXXX-XXXXX-XXXXX, as the reference issues
			if j > 0 && j%5 == 0 {
				b.WriteByte('-')
			}
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(recoveryAlphabet))))
			b.WriteByte(recoveryAlphabet[n.Int64()])
		}
		codes[i] = b.String()
		a.recoveryHashes = append(a.recoveryHashes, s.mac("rc", a.id, codes[i]))
	}
	return codes
}

// matchStep reports the time step among c-1, c, c+1 whose code of secret
// is code (RFC 6238 §5.2).
func (s *teamServer) matchStep(secret, code string) (int64, bool) {
	step := s.now().Unix() / 30
	for d := int64(-1); d <= 1; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*30, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d, true
		}
	}
	return 0, false
}

// wrongFirstCode is the problem for a wrong first code of a new app
// (confirmTOTPEnrollment, confirmTOTPReplacement) with left attempts:
// clock-drift with driftSteps when code is the code of secret 2 to 10
// steps from the current one (RFC 6238 §6), else bad-code.
func (s *teamServer) wrongFirstCode(secret, code string, left int) *problem {
	p := prob(pBadCode)
	p.AttemptsLeft = &left
	step := s.now().Unix() / 30
	for d := int64(2); d <= 10; d++ {
		for _, off := range []int64{-d, d} {
			want, err := totp.GenerateCodeCustom(secret, time.Unix((step+off)*30, 0), totpOpts)
			if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
				p = prob(pClockDrift)
				p.AttemptsLeft = &left
				n := int(off)
				p.DriftSteps = &n
				return p
			}
		}
	}
	return p
}

func (s *teamServer) elevateTOTP(q *req) (int, any, *problem) {
	var in struct{ GrantToken, Code string }
	if p := q.decode(&in, "grantToken", "code"); p != nil {
		return 0, nil, p
	}
	g, a, p := s.liveGrant(in.GrantToken)
	if p != nil {
		return 0, nil, p
	}
	if a.method != "totp" {
		return 0, nil, wrongState(a.method)
	}
	code, ok := normCode(in.Code)
	if !ok {
		return 0, nil, prob(pCodeFormat)
	}
	step, ok := s.matchStep(a.totpSecret, code)
	if !ok {
		p := prob(pBadCode)
		left := 1
		p.AttemptsLeft = &left
		return 0, nil, p
	}
	if a.usedSteps[step] {
		return 0, nil, prob(pReplayed)
	}
	a.usedSteps[step] = true
	g.level, g.proof, g.expiresAt = "elevated", s.now(), s.now().Add(10*time.Minute)
	return 200, grantJSON(in.GrantToken, g), nil
}

// normRecovery writes a recovery code as issued: upper case, groups of 5.
func normRecovery(in string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		if r == ' ' || r == '-' {
			continue
		}
		if b.Len() > 0 && (b.Len()+1)%6 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *teamServer) elevateRecovery(q *req) (int, any, *problem) {
	var in struct{ GrantToken, Code string }
	if p := q.decode(&in, "grantToken", "code"); p != nil {
		return 0, nil, p
	}
	g, a, p := s.liveGrant(in.GrantToken)
	if p != nil {
		return 0, nil, p
	}
	if a.method != "totp" {
		return 0, nil, wrongState(a.method)
	}
	code := normRecovery(in.Code)
	if len(code) != 17 {
		return 0, nil, prob(pCodeFormat)
	}
	want := s.mac("rc", a.id, code)
	for _, h := range a.recoveryHashes {
		if hmac.Equal(h, want) {
			g.level, g.proof, g.expiresAt = "elevated", s.now(), s.now().Add(10*time.Minute)
			codes := s.newRecoveryCodes(a, 10) // the whole set is replaced
			return 200, map[string]any{"grant": grantJSON(in.GrantToken, g), "codes": codes}, nil
		}
	}
	p = prob(pBadCode)
	left := 1
	p.AttemptsLeft = &left
	return 0, nil, p
}

func (s *teamServer) beginReplace(q *req) (int, any, *problem) {
	var in struct{ GrantToken string }
	if p := q.decode(&in, "grantToken"); p != nil {
		return 0, nil, p
	}
	g, a, p := s.liveGrant(in.GrantToken)
	if p != nil {
		return 0, nil, p
	}
	if a.method != "totp" {
		return 0, nil, wrongState(a.method)
	}
	if g.level != "elevated" {
		return 0, nil, prob(pNeedElev)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Customer Portal", AccountName: a.email, SecretSize: 20})
	if err != nil {
		return 500, nil, &problem{Type: "urn:guidedfix:problem:internal", Title: "internal", Status: 500}
	}
	for _, e := range s.enrollments {
		if e.accountID == a.id && e.state == "pending" {
			e.state, e.secret = "void", ""
		}
	}
	e := &enrollment{id: randID("en_"), accountID: a.id, secret: key.Secret(), uri: key.URL(),
		state: "pending", expiresAt: s.now().Add(10 * time.Minute), attemptsLeft: 5, replace: true}
	s.enrollments[e.id] = e
	return 200, enrollmentJSON(e, a), nil
}

func (s *teamServer) confirmReplace(q *req) (int, any, *problem) {
	var in struct{ EnrollmentID, Code string }
	if p := q.decode(&in, "enrollmentId", "code"); p != nil {
		return 0, nil, p
	}
	e, ok := s.enrollments[in.EnrollmentID]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	a := s.accounts[e.accountID]
	if !e.replace || a.method != "totp" {
		return 0, nil, wrongState(a.method)
	}
	now := s.now()
	if e.state == "pending" && !now.Before(e.expiresAt) {
		e.state, e.secret = "void", ""
	}
	if e.state != "pending" {
		return 0, nil, prob(pExpired)
	}
	code, ok := normCode(in.Code)
	if !ok {
		return 0, nil, prob(pCodeFormat)
	}
	if step, ok := s.matchStep(e.secret, code); ok {
		a.totpSecret, a.usedSteps = e.secret, map[int64]bool{step: true} // the old app's codes end here
		e.state, e.confirmedAt, e.secret = "confirmed", now, ""
		for tok, g := range s.grants {
			if g.accountID == a.id {
				delete(s.grants, tok)
			}
		}
		return 204, nil, nil
	}
	e.attemptsLeft--
	if e.attemptsLeft <= 0 {
		e.state, e.secret = "void", ""
		return 0, nil, prob(pExpired)
	}
	return 0, nil, s.wrongFirstCode(e.secret, code, e.attemptsLeft)
}

func (s *teamServer) cancel(q *req) (int, any, *problem) {
	var in struct{ EnrollmentID string }
	if p := q.decode(&in, "enrollmentId"); p != nil {
		return 0, nil, p
	}
	e, ok := s.enrollments[in.EnrollmentID]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	if e.state == "pending" {
		e.state, e.secret = "void", ""
	}
	return 204, nil, nil
}

func (s *teamServer) enrollmentState(q *req) (int, any, *problem) {
	var in struct{ EnrollmentID string }
	if p := q.decode(&in, "enrollmentId"); p != nil {
		return 0, nil, p
	}
	e, ok := s.enrollments[in.EnrollmentID]
	if !ok {
		return 0, nil, prob(pNotFound)
	}
	st := e.state
	if st == "pending" && !s.now().Before(e.expiresAt) {
		st = "void"
	}
	return 200, map[string]any{"state": st}, nil
}

// textCandidates lists passwordInText's candidates: the whole trimmed text,
// then each word as typed, without 1 and 2 trailing punctuation marks, and
// without 1 leading one (also combined with the trailing cuts), keeping those
// of at least 8 characters, at most 12.
func textCandidates(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if len([]rune(c)) >= 8 && !seen[c] && len(out) < 12 {
			seen[c] = true
			out = append(out, c)
		}
	}
	add(strings.TrimSpace(text))
	cut := func(w string, lead, trail int) (string, bool) {
		r := []rune(w)
		if lead+trail > len(r) {
			return "", false
		}
		for i := 0; i < lead; i++ {
			if !unicode.IsPunct(r[i]) {
				return "", false
			}
		}
		for i := 0; i < trail; i++ {
			if !unicode.IsPunct(r[len(r)-1-i]) {
				return "", false
			}
		}
		return string(r[lead : len(r)-trail]), true
	}
	for _, w := range strings.Fields(text) {
		for _, lt := range [][2]int{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}} {
			if c, ok := cut(w, lt[0], lt[1]); ok {
				add(c)
			}
		}
	}
	return out
}

func (s *teamServer) passwordInText(q *req) (int, any, *problem) {
	var in struct{ AccountID, Text string }
	if p := q.decode(&in, "accountId", "text"); p != nil {
		return 0, nil, p
	}
	a, ok := s.accounts[in.AccountID]
	if !ok || a.pwHash == nil {
		return 0, nil, prob(pNotFound)
	}
	found := false
	for _, c := range textCandidates(in.Text) {
		if hmac.Equal(a.pwHash, s.mac("pw", a.id, c)) {
			found = true
		}
	}
	return 200, map[string]any{"found": found}, nil
}

// snapshot is what the test asserts on.
type snapshot struct {
	method, phone   string
	confirmed, void int
	pending         int
	recoveryCodes   int
	smsSent         int
	calls           map[string]int
}

func (s *teamServer) snapshot(accountID string) snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	out := snapshot{method: a.method, phone: a.phone, recoveryCodes: len(a.recoveryHashes), smsSent: len(s.phone), calls: map[string]int{}}
	for _, e := range s.enrollments {
		if e.accountID != accountID {
			continue
		}
		switch e.state {
		case "confirmed":
			out.confirmed++
		case "void":
			out.void++
		case "pending":
			out.pending++
		}
	}
	for k, v := range s.calls {
		out.calls[k] = v
	}
	return out
}

// lastSMS returns the n-th SMS delivered (0-based), if there is one.
func (s *teamServer) lastSMS(n int) (sms, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < len(s.phone) {
		return s.phone[n], true
	}
	return sms{}, false
}

// pendingSecret returns the secret of the account's pending enrollment.
func (s *teamServer) pendingSecret(accountID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.enrollments {
		if e.accountID == accountID && e.state == "pending" {
			return e.secret, true
		}
	}
	return "", false
}
