package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

func selfSigned(t *testing.T, cn string, dnsNames ...string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     dnsNames,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestVerifyTrustedCommonNameFallback(t *testing.T) {
	godotStyle := selfSigned(t, "localhost") // what Crypto.generate_self_signed_certificate makes: no SAN
	withSAN := selfSigned(t, "localhost", "game.example")
	stranger := selfSigned(t, "localhost")
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
		err := verifyTrusted(tls.ConnectionState{PeerCertificates: []*x509.Certificate{tc.leaf}}, tc.roots, tc.server)
		if (err == nil) != tc.ok {
			t.Errorf("%s: verifyTrusted = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if verifyTrusted(tls.ConnectionState{}, pool(godotStyle), "localhost") == nil {
		t.Error("no certificate must not verify")
	}
}
