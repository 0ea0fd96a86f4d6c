package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"guidedfix/internal/config"
	"guidedfix/internal/portal/portalhttp"
)

// portalServeFlags are the flags of `guidedfix portal serve`; each
// overrides its portal.serve.* setting.
type portalServeFlags struct {
	listen, tlsCert, tlsKey, clientCA string
}

func newPortalServeCmd(g *globalFlags) *cobra.Command {
	var f portalServeFlags
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR]",
		Short: "Serve the embedded portal core of the data directory over HTTP (api/portal.openapi.yaml)",
		Long: "portal serve exposes the embedded core of this data directory as the portal\n" +
			"service of api/portal.openapi.yaml, for guidedfix serve/demo --portal-url.\n" +
			"Every request needs a bearer token from portal.serve.tokens\n" +
			"(GUIDEDFIX_PORTAL__SERVE__TOKENS, comma-separated; or portal.serve.tokens_file);\n" +
			"it refuses to start without one. It serves HTTPS with --tls-cert/--tls-key\n" +
			"(and requires client certificates with --client-ca), or plain HTTP on a\n" +
			"loopback address only, behind a TLS terminator on the same machine.\n" +
			"It stops on SIGINT or SIGTERM after finishing the requests in flight.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPortalServe(cmd.Context(), g, f, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.listen, "listen", "", "address to bind, host:port (default portal.serve.listen, 127.0.0.1:8710)")
	cmd.Flags().StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate to serve HTTPS (portal.serve.tls_cert)")
	cmd.Flags().StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert (portal.serve.tls_key)")
	cmd.Flags().StringVar(&f.clientCA, "client-ca", "", "PEM CA bundle: require client certificates signed by it (portal.serve.client_ca)")
	return cmd
}

// runPortalServe runs the portal service until ctx ends. It writes
// "portal serving on URL" to out once it listens.
func runPortalServe(ctx context.Context, g *globalFlags, f portalServeFlags, out io.Writer) error {
	cfg, _, err := loadConfig(g)
	if err != nil {
		return err
	}
	sc := cfg.Portal.Serve
	for _, o := range []struct {
		flag string
		dst  *string
	}{{f.listen, &sc.Listen}, {f.tlsCert, &sc.TLSCert}, {f.tlsKey, &sc.TLSKey}, {f.clientCA, &sc.ClientCA}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	tokens, err := sc.AcceptedTokens()
	if err != nil {
		return err
	}
	if len(tokens) == 0 {
		return fmt.Errorf("portal serve refuses to start without a service token: set %s (comma-separated) or %s",
			config.EnvName("portal.serve.tokens"), config.EnvName("portal.serve.tokens_file"))
	}
	tlsConf, err := serveTLS(sc)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, g, openOptions{embeddedOnly: true, logOut: out})
	if err != nil {
		return err
	}
	defer a.Close()
	// Queued e-mail (a security alert the SMTP server deferred) is retried
	// while the service runs, as serve does with the embedded core.
	mctx, stopMail := context.WithCancel(ctx)
	defer stopMail()
	go func() { _ = a.core.RunMailRetry(mctx, mailRetryInterval) }()
	ln, err := net.Listen("tcp", sc.Listen)
	if err != nil {
		return fmt.Errorf("portal serve: %w", err)
	}
	scheme := "http"
	if tlsConf != nil {
		ln, scheme = tls.NewListener(ln, tlsConf), "https"
	}
	h := portalhttp.Server(a.core, portalhttp.ServerOptions{Tokens: tokens, RequireClientCert: sc.ClientCA != "", Logger: a.log})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	fmt.Fprintf(out, "portal serving on %s://%s\n", scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveTLS returns the TLS configuration of sc, or nil for plain HTTP,
// which it allows on a loopback address only. With ClientCA it requires
// and verifies client certificates (mutual TLS).
func serveTLS(sc config.PortalServeConfig) (*tls.Config, error) {
	if sc.TLSCert == "" && sc.TLSKey == "" {
		if sc.ClientCA != "" {
			return nil, errors.New("portal.serve.client_ca needs portal.serve.tls_cert and tls_key")
		}
		host, _, err := net.SplitHostPort(sc.Listen)
		if err != nil {
			return nil, fmt.Errorf("portal.serve.listen %q: %w", sc.Listen, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("portal serve: plain HTTP only on a loopback address (127.0.0.1, ::1), not %q: set --tls-cert and --tls-key, or listen on loopback behind a TLS terminator", sc.Listen)
		}
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(sc.TLSCert, sc.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("portal.serve.tls_cert/tls_key: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if sc.ClientCA != "" {
		pem, err := os.ReadFile(sc.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("portal.serve.client_ca: %w", err)
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("portal.serve.client_ca %s: no PEM certificate", sc.ClientCA)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
