package peer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/gowebsocket/godot-gowebsocket/internal/testcert"
)

// selfSignedPEM makes a self-signed certificate for cn (and dnsNames as
// subjectAltNames) and returns it parsed and as PEM, with its key as PEM.
func selfSignedPEM(t *testing.T, cn string, dnsNames ...string) (*x509.Certificate, []byte, []byte) {
	c := testcert.New(t, testcert.Spec{CommonName: cn, DNSNames: dnsNames})
	return c.Leaf, c.CertPEM, c.KeyPEM
}

func TestVerifyTrustedCommonNameFallback(t *testing.T) {
	godotStyle, _, _ := selfSignedPEM(t, "localhost") // self-signed by mbedtls: no SAN
	withSAN, _, _ := selfSignedPEM(t, "localhost", "game.example")
	stranger, _, _ := selfSignedPEM(t, "localhost")
	pool := func(c *x509.Certificate) *x509.CertPool { p := x509.NewCertPool(); p.AddCert(c); return p }
	cases := []struct {
		name   string
		leaf   *x509.Certificate
		roots  *x509.CertPool
		server string
		ok     bool
	}{
		{"common name matches, no SAN", godotStyle, pool(godotStyle), "localhost", true},
		{"common name is case-insensitive", godotStyle, pool(godotStyle), "LocalHost", true},
		{"common name differs", godotStyle, pool(godotStyle), "evil.example", false},
		{"SAN present: common name ignored", withSAN, pool(withSAN), "localhost", false},
		{"SAN matches", withSAN, pool(withSAN), "game.example", true},
		{"IP address against a name-only certificate", godotStyle, pool(godotStyle), "127.0.0.1", false},
		{"no host to check", godotStyle, pool(godotStyle), "", false},
		{"not the trusted certificate", stranger, pool(godotStyle), "localhost", false},
	}
	for _, tc := range cases {
		err := VerifyTrusted(tls.ConnectionState{PeerCertificates: []*x509.Certificate{tc.leaf}}, tc.roots, tc.server)
		if (err == nil) != tc.ok {
			t.Errorf("%s: VerifyTrusted = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if VerifyTrusted(tls.ConnectionState{}, pool(godotStyle), "localhost") == nil {
		t.Error("no certificate must not verify")
	}
}

func TestVerifyTrustedThroughClientTLSConfig(t *testing.T) {
	leaf, certPEM, _ := selfSignedPEM(t, "localhost")
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}

	cfg, err := ClientTLSConfig("wss://localhost:9080/x", true, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VerifyConnection == nil || !cfg.InsecureSkipVerify {
		t.Fatal("a trusted certificate must be verified by VerifyTrusted, not by Go's default check")
	}
	if err := cfg.VerifyConnection(cs); err != nil {
		t.Errorf("trusted certificate for the URL's host: %v", err)
	}
	cfg, _ = ClientTLSConfig("wss://other.example/", true, certPEM)
	if cfg.VerifyConnection(cs) == nil {
		t.Error("certificate accepted for a host it does not name")
	}

	cfg, _ = ClientTLSConfig("wss://localhost/", false, certPEM)
	if !cfg.InsecureSkipVerify || cfg.VerifyConnection != nil {
		t.Error("verify=false must not check the certificate")
	}
	cfg, _ = ClientTLSConfig("wss://localhost/", true, nil)
	if cfg.InsecureSkipVerify || cfg.VerifyConnection != nil {
		t.Error("without a trusted certificate the system roots must decide")
	}
	if _, err := ClientTLSConfig("wss://localhost/", true, []byte("not pem")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("PEM without a certificate: %v, want ErrInvalidArgument", err)
	}
}

func TestServerTLSConfig(t *testing.T) {
	_, certPEM, keyPEM := selfSignedPEM(t, "localhost")
	_, _, otherKey := selfSignedPEM(t, "localhost")
	cfg, err := ServerTLSConfig(certPEM, keyPEM)
	if err != nil || len(cfg.Certificates) != 1 {
		t.Fatalf("ServerTLSConfig = %v, %v", cfg, err)
	}
	for name, pair := range map[string][2][]byte{
		"no key":         {certPEM, nil},
		"no certificate": {nil, keyPEM},
		"key of another": {certPEM, otherKey},
		"garbage":        {[]byte("x"), []byte("y")},
	} {
		if _, err := ServerTLSConfig(pair[0], pair[1]); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
}
