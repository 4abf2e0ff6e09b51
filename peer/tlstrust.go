package peer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ClientTLSConfig builds Options.TLS for a client that will connect to rawURL.
//
// With verify false the server's certificate is not checked at all. With
// trustedPEM empty the system roots decide. With trustedPEM given (PEM
// certificates), only chains ending in one of them are accepted, and the
// certificate must name the URL's host; see VerifyTrusted, which also accepts
// a self-signed certificate that names its host only in the subject common
// name. A trustedPEM without any certificate is an error wrapping
// ErrInvalidArgument.
func ClientTLSConfig(rawURL string, verify bool, trustedPEM []byte) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: !verify}
	if len(trustedPEM) == 0 {
		return cfg, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(trustedPEM) {
		return nil, fmt.Errorf("%w: the trusted certificate PEM holds no certificate", ErrInvalidArgument)
	}
	cfg.RootCAs = pool
	if verify {
		// Go's own verification ignores common names; VerifyTrusted does
		// the whole check instead.
		cfg.InsecureSkipVerify = true
		host := ""
		if u, err := url.Parse(rawURL); err == nil {
			host = u.Hostname()
		}
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return VerifyTrusted(cs, pool, host) }
	}
	return cfg, nil
}

// ServerTLSConfig builds Options.TLS for a server from a PEM certificate
// (chain) and its PEM private key. Both must be given; a missing one or a pair
// that does not match is an error wrapping ErrInvalidArgument.
func ServerTLSConfig(certPEM, keyPEM []byte) (*tls.Config, error) {
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, fmt.Errorf("%w: a TLS certificate and its key must be given together", ErrInvalidArgument)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: TLS certificate and key: %v", ErrInvalidArgument, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}}, nil
}

// VerifyTrusted checks the server's chain in cs against roots and the host
// name (or IP address) the client connected to. A leaf certificate without
// any subjectAltName (as some TLS libraries, mbedtls among them, make for a
// self-signed certificate) names its host only in the subject common name: Go
// ignores common names, so for such a leaf the common name is compared
// (case-insensitively) instead. An empty host is never accepted.
// It is meant for tls.Config.VerifyConnection.
func VerifyTrusted(cs tls.ConnectionState, roots *x509.CertPool, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: server sent no certificate")
	}
	if host == "" {
		return errors.New("tls: no host name to verify the certificate against")
	}
	leaf := cs.PeerCertificates[0]
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), DNSName: host}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := leaf.Verify(opts)
	var hostErr x509.HostnameError
	noSAN := len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 && len(leaf.URIs) == 0 && len(leaf.EmailAddresses) == 0
	if errors.As(err, &hostErr) && noSAN && strings.EqualFold(leaf.Subject.CommonName, host) {
		opts.DNSName = ""
		_, err = leaf.Verify(opts)
	}
	return err
}
