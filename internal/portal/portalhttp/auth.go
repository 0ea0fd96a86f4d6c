package portalhttp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
)

// authenticate wraps h with service authentication: a bearer token
// (RFC 6750 §2.1) equal to one of opts.Tokens, compared in constant time
// over SHA-256 digests (so neither content nor length leaks through
// timing), and, with RequireClientCert, a verified TLS client
// certificate. Anything else is answered 401 with an unauthorized problem
// and a WWW-Authenticate challenge before any routing, for every path.
func (s *server) authenticate(h http.Handler) http.Handler {
	digests := make([][32]byte, 0, len(s.opts.Tokens))
	for _, t := range s.opts.Tokens {
		if t = strings.TrimSpace(t); t != "" {
			digests = append(digests, sha256.Sum256([]byte(t)))
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tokenOK(r.Header.Get("Authorization"), digests) ||
			(s.opts.RequireClientCert && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="guidedfix-portal"`)
			w.Header().Set("Content-Type", ProblemContentType)
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"type": TypeUnauthorized, "title": "Unauthorized", "status": http.StatusUnauthorized})
			s.opts.Logger.Warn("portal request refused: no valid service credential", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tokenOK reports whether header is "Bearer <token>" with a token whose
// digest is among digests; every digest is compared, match or not.
func tokenOK(header string, digests [][32]byte) bool {
	scheme, tok, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	match := 0
	for i := range digests {
		match |= subtle.ConstantTimeCompare(d[:], digests[i][:])
	}
	return match == 1
}
