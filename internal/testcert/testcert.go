// Package testcert makes self-signed certificates for tests (peer's and
// interop's): one place for what each suite needs of a certificate.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// Spec says what the certificate names and when it is valid. Zero times
// mean an hour before and after now.
type Spec struct {
	CommonName          string
	DNSNames            []string
	IPs                 []net.IP
	NotBefore, NotAfter time.Time
}

// Cert is a self-signed certificate (its own CA) and its key.
type Cert struct {
	Leaf    *x509.Certificate
	TLS     tls.Certificate // for tls.Config.Certificates
	Pool    *x509.CertPool  // trusts Leaf alone
	CertPEM []byte
	KeyPEM  []byte
}

// New makes a certificate for s; it fails t on error.
func New(t testing.TB, s Spec) Cert {
	t.Helper()
	if s.NotBefore.IsZero() {
		s.NotBefore = time.Now().Add(-time.Hour)
	}
	if s.NotAfter.IsZero() {
		s.NotAfter = time.Now().Add(time.Hour)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: s.CommonName},
		NotBefore:             s.NotBefore,
		NotAfter:              s.NotAfter,
		DNSNames:              s.DNSNames,
		IPAddresses:           s.IPs,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return Cert{
		Leaf:    leaf,
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Pool:    pool,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}
