package ops

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"
)

// DefaultListen is the ops listener's default address (ops.listen): the
// port Prometheus' exporter registry has no owner for, on loopback.
const DefaultListen = "127.0.0.1:9464"

// BackupFunc writes a backup of the databases into dir (an absolute path
// on the server's machine) and returns the files written.
type BackupFunc func(ctx context.Context, dir string) ([]string, error)

// ErrBadBackupDir is wrapped by an Options.Backup error that names a
// directory the operator chose wrongly; the admin endpoint answers it with
// 400 instead of 500.
var ErrBadBackupDir = errors.New("backup directory")

// Options configure [Serve].
type Options struct {
	// Listen is host:port; "" means [DefaultListen].
	Listen string
	// Listener, if set, is used instead of listening on Listen (tests).
	Listener net.Listener
	// Metrics serves /metrics; nil answers 404.
	Metrics http.Handler
	// Health answers /readyz; nil means always ready.
	Health *Health
	// Backup serves POST /admin/backup?dir=DIR; nil answers 404.
	Backup BackupFunc
	// Logger receives the listener's address and request errors.
	Logger *slog.Logger
}

// Handler returns the ops endpoints:
//
//   - GET /metrics: the Prometheus exposition of Options.Metrics.
//   - GET /healthz: 200 "ok" while the process serves HTTP (liveness).
//   - GET /readyz: 200 when [Health.Ready], else 503; the body lists each
//     condition (Kubernetes' readiness probe convention).
//   - /debug/pprof/…, /debug/vars (expvar), POST /debug/free-os-memory:
//     the runtime's profiles and variables.
//   - POST /admin/backup?dir=DIR: a backup into DIR, answered with JSON
//     {"files": [...]} or {"error": "..."}.
//
// The /debug/ and /admin/ endpoints answer 403 to a client that is not on
// a loopback address, even when the listener is not (ops.public).
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ready, lines := true, []string(nil)
		if o.Health != nil {
			ready, lines = o.Health.Ready(r.Context())
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
		if ready {
			fmt.Fprintln(w, "ready")
		} else {
			fmt.Fprintln(w, "not ready")
		}
	})
	local := http.NewServeMux()
	local.HandleFunc("/debug/pprof/", pprof.Index)
	local.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	local.HandleFunc("/debug/pprof/profile", pprof.Profile)
	local.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	local.HandleFunc("/debug/pprof/trace", pprof.Trace)
	local.Handle("/debug/vars", expvar.Handler())
	local.HandleFunc("POST /debug/free-os-memory", func(w http.ResponseWriter, r *http.Request) {
		debug.FreeOSMemory()
		w.WriteHeader(http.StatusNoContent)
	})
	if o.Backup != nil {
		local.HandleFunc("POST /admin/backup", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			dir := r.URL.Query().Get("dir")
			if dir == "" || !strings.HasPrefix(dir, "/") {
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": "dir must be an absolute path"})
				return
			}
			files, err := o.Backup(r.Context(), dir)
			if err != nil {
				// A directory the operator named wrongly (the data
				// directory itself, one that cannot be created) is
				// the request's fault: 400; anything else 500.
				status := http.StatusInternalServerError
				if errors.Is(err, ErrBadBackupDir) {
					status = http.StatusBadRequest
				}
				w.WriteHeader(status)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
				return
			}
			_ = json.NewEncoder(w).Encode(map[string][]string{"files": files})
		})
	}
	loopbackOnly := func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) {
			http.Error(w, "only from this machine (loopback)", http.StatusForbidden)
			return
		}
		local.ServeHTTP(w, r)
	}
	mux.HandleFunc("/debug/", loopbackOnly)
	mux.HandleFunc("/admin/", loopbackOnly)
	return mux
}

// fromLoopback reports whether the request's peer is a loopback address.
func fromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// Serve serves [Handler] on o.Listen until ctx is done, then closes the
// listener (requests in flight get up to 5 seconds). It returns nil after
// ctx is done and an error when it cannot listen.
func Serve(ctx context.Context, o Options) error {
	ln := o.Listener
	if ln == nil {
		addr := o.Listen
		if addr == "" {
			addr = DefaultListen
		}
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("ops listener: %w (check ops.listen)", err)
		}
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	srv := &http.Server{Handler: Handler(o), ReadHeaderTimeout: 10 * time.Second}
	log.Info("ops endpoints (metrics, health, pprof, expvar, backup)", "listen", ln.Addr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ops listener: %w", err)
	}
	<-done
	return nil
}
