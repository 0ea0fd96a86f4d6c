package portalhttp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/portal/portaltest"
)

// testCA is a throw-away CA issuing a server and a client certificate.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestMutualTLS serves over TLS with RequireClientCert: a client with a
// certificate from the CA and the token works; the same token without a
// client certificate gets 401 and changes nothing.
func TestMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	e := newEnv(t, envOpts{})
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	srv := httptest.NewUnstartedServer(portalhttp.Server(e.core, portalhttp.ServerOptions{Tokens: []string{testToken}, RequireClientCert: true}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "portal", x509.ExtKeyUsageServerAuth)},
		ClientCAs: ca.pool, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	defer srv.Close()
	client := func(certs ...tls.Certificate) *portalhttp.Client {
		c, err := portalhttp.NewClient(portalhttp.ClientOptions{BaseURL: srv.URL, Token: testToken, Attempts: 1,
			HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, Certificates: certs}}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	with := client(ca.issue(t, "guidedfix", x509.ExtKeyUsageClientAuth))
	if got, err := with.LookupAccount(context.Background(), portaltest.AliceEmail); err != nil || got.ID != a.ID {
		t.Fatalf("with a client certificate: %+v, %v", got, err)
	}
	_, err := client().VerifyPassword(context.Background(), a.ID, "wrong password")
	var re *portalhttp.RemoteError
	if !asRemote(err, &re) || re.Status != 401 || re.Type != portalhttp.TypeUnauthorized {
		t.Fatalf("without a client certificate: %v, want 401 unauthorized", err)
	}
	// The refused wrong password counted nothing: 4 more wrong ones and
	// the right one still works (5 would lock).
	for range 4 {
		with.VerifyPassword(context.Background(), a.ID, "wrong password")
	}
	if _, err := with.VerifyPassword(context.Background(), a.ID, portaltest.Password); err != nil {
		t.Fatalf("right password after 4 counted failures: %v", err)
	}
}
