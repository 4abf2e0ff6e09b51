package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// settings are the properties a client or server exposes; each class
// registers the subset that applies to it.
type settings struct {
	handshakeTimeout   float64
	inboundBufferSize  int64
	outboundBufferSize int64
	maxQueuedPackets   int64
	heartbeatInterval  float64
	pongTimeout        float64
	compression        bool

	verifyTLS     bool
	trustedCert   bindings.Object
	proxyURL      string
	autoReconnect bool

	tlsCert        bindings.Object
	tlsKey         bindings.Object
	maxConnections int64
	allowedOrigins []string
}

// owner is what clients and servers share: one lock for the object and its
// peers, and the settings.
type owner struct {
	mu  sync.Mutex
	obj bindings.Object
	settings
}

func newOwner(obj bindings.Object) owner {
	return owner{obj: obj, settings: settings{
		handshakeTimeout:   peer.DefaultHandshakeTimeout.Seconds(),
		inboundBufferSize:  peer.DefaultInboundBufferSize,
		outboundBufferSize: peer.DefaultOutboundBufferSize,
		maxQueuedPackets:   peer.DefaultMaxQueuedPackets,
		verifyTLS:          true,
	}}
}

// release drops the references the settings hold on engine objects.
func (s *settings) release() {
	for _, o := range []*bindings.Object{&s.trustedCert, &s.tlsCert, &s.tlsKey} {
		bindings.Unref(*o)
		*o = nil
	}
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// options turns the settings into peer options (TLS from Godot's
// X509Certificate / CryptoKey through their PEM text). A client passes the
// URL it will connect to: its host is what the server certificate must name.
func (s *settings) options(server bool, rawURL string) (peer.Options, error) {
	o := peer.Options{
		HandshakeTimeout:   seconds(s.handshakeTimeout),
		InboundBufferSize:  int(s.inboundBufferSize),
		OutboundBufferSize: int(s.outboundBufferSize),
		MaxQueuedPackets:   int(s.maxQueuedPackets),
		HeartbeatInterval:  seconds(s.heartbeatInterval),
		PongTimeout:        seconds(s.pongTimeout),
		Compression:        s.compression,
	}
	if server {
		o.MaxConnections = int(s.maxConnections)
		o.AllowedOrigins = s.allowedOrigins
		if s.tlsCert != nil || s.tlsKey != nil {
			if s.tlsCert == nil || s.tlsKey == nil {
				return o, errors.New("tls_certificate and tls_key must be set together")
			}
			pair, err := tls.X509KeyPair([]byte(certPEM(s.tlsCert)), []byte(keyPEM(s.tlsKey)))
			if err != nil {
				return o, fmt.Errorf("tls_certificate/tls_key: %w", err)
			}
			o.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
		}
		return o, nil
	}
	o.ProxyURL = s.proxyURL
	o.AutoReconnect = s.autoReconnect
	o.TLS = &tls.Config{InsecureSkipVerify: !s.verifyTLS}
	if s.trustedCert != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(certPEM(s.trustedCert))) {
			return o, errors.New("trusted_tls_certificate holds no certificate")
		}
		o.TLS.RootCAs = pool
		if s.verifyTLS {
			// Verified in verifyTrusted instead, which also accepts the
			// certificates Godot's Crypto.generate_self_signed_certificate makes.
			o.TLS.InsecureSkipVerify = true
			host := ""
			if u, err := url.Parse(rawURL); err == nil {
				host = u.Hostname()
			}
			o.TLS.VerifyConnection = func(cs tls.ConnectionState) error { return verifyTrusted(cs, pool, host) }
		}
	}
	return o, nil
}

// verifyTrusted checks the server's chain against the trusted certificate and
// the host name (or IP address) the client connected to. Certificates made by Godot (mbedtls) carry the host only in
// the subject common name, without subjectAltName; Go ignores common names, so
// for a leaf without any SAN the common name is compared instead, as Godot's
// own TLS does.
func verifyTrusted(cs tls.ConnectionState, roots *x509.CertPool, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), DNSName: host}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := leaf.Verify(opts)
	var hostErr x509.HostnameError
	noSAN := len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 && len(leaf.URIs) == 0 && len(leaf.EmailAddresses) == 0
	if host == "" {
		return errors.New("tls: no host name to verify the certificate against")
	}
	if errors.As(err, &hostErr) && noSAN && strings.EqualFold(leaf.Subject.CommonName, host) {
		opts.DNSName = ""
		_, err = leaf.Verify(opts)
	}
	return err
}

var (
	x509SaveToString      bindings.MethodBind
	cryptoKeySaveToString bindings.MethodBind
)

func certPEM(cert bindings.Object) string {
	if !x509SaveToString.Valid() {
		x509SaveToString = bindings.GetMethodBind("X509Certificate", "save_to_string", 2841200299)
	}
	return x509SaveToString.CallString(cert)
}

func keyPEM(key bindings.Object) string {
	if !cryptoKeySaveToString.Valid() {
		cryptoKeySaveToString = bindings.GetMethodBind("CryptoKey", "save_to_string", 32795936)
	}
	return cryptoKeySaveToString.CallString(key, false)
}

// parseHeaders reads Godot-style "Name: value" lines.
func parseHeaders(lines []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || !isToken(name) || strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return nil, fmt.Errorf("header %q is not \"Name: value\"", l)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// isToken reports whether s is an HTTP header field name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// --- property registration ---

// prop is a property with its setter and getter methods.
type prop struct {
	methods []bindings.Method
	info    bindings.Property
}

// ownerOf returns the owner embedded in a client or server instance.
type ownerOf func(self any) *owner

func makeProp(name string, t bindings.VariantType, class string, set func(o *owner, c bindings.Call), get func(o *owner, c bindings.Call), of ownerOf) prop {
	setter, getter := "set_"+name, "get_"+name
	return prop{
		methods: []bindings.Method{
			{Name: setter, Args: []bindings.Arg{{Name: "value", Type: t, Class: class}}, Call: func(self any, c bindings.Call) {
				o := of(self)
				o.mu.Lock()
				defer o.mu.Unlock()
				set(o, c)
			}},
			{Name: getter, Return: t, ReturnClass: class, HasReturn: true, Const: true, Call: func(self any, c bindings.Call) {
				o := of(self)
				o.mu.Lock()
				defer o.mu.Unlock()
				get(o, c)
			}},
		},
		info: bindings.Property{Name: name, Type: t, Class: class, Setter: setter, Getter: getter},
	}
}

func floatProp(name string, field func(*settings) *float64, of ownerOf) prop {
	return makeProp(name, bindings.TypeFloat, "", func(o *owner, c bindings.Call) {
		v := c.Float(0)
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			bindings.PushError(fmt.Sprintf("set_%s: %v is not a duration in seconds >= 0", name, v))
			return
		}
		*field(&o.settings) = v
	}, func(o *owner, c bindings.Call) { c.ReturnFloat(*field(&o.settings)) }, of)
}

func intProp(name string, field func(*settings) *int64, of ownerOf) prop {
	return makeProp(name, bindings.TypeInt, "", func(o *owner, c bindings.Call) {
		v := c.Int(0)
		if v < 0 || v > math.MaxInt32 {
			bindings.PushError(fmt.Sprintf("set_%s: %d is out of range", name, v))
			return
		}
		*field(&o.settings) = v
	}, func(o *owner, c bindings.Call) { c.ReturnInt(*field(&o.settings)) }, of)
}

func boolProp(name string, field func(*settings) *bool, of ownerOf) prop {
	return makeProp(name, bindings.TypeBool, "", func(o *owner, c bindings.Call) { *field(&o.settings) = c.Bool(0) },
		func(o *owner, c bindings.Call) { c.ReturnBool(*field(&o.settings)) }, of)
}

func stringProp(name string, field func(*settings) *string, of ownerOf) prop {
	return makeProp(name, bindings.TypeString, "", func(o *owner, c bindings.Call) { *field(&o.settings) = c.String(0) },
		func(o *owner, c bindings.Call) { c.ReturnString(*field(&o.settings)) }, of)
}

func stringsProp(name string, field func(*settings) *[]string, of ownerOf) prop {
	return makeProp(name, bindings.TypePackedStringArray, "", func(o *owner, c bindings.Call) { *field(&o.settings) = c.Strings(0) },
		func(o *owner, c bindings.Call) { c.ReturnStrings(*field(&o.settings)) }, of)
}

// objectProp holds a reference to a Resource (X509Certificate, CryptoKey).
func objectProp(name, class string, field func(*settings) *bindings.Object, of ownerOf) prop {
	return makeProp(name, bindings.TypeObject, class, func(o *owner, c bindings.Call) {
		f := field(&o.settings)
		obj := c.Object(0)
		bindings.Ref(obj)
		bindings.Unref(*f)
		*f = obj
	}, func(o *owner, c bindings.Call) { c.ReturnObject(*field(&o.settings)) }, of)
}

// commonProps are the properties both clients and servers have.
func commonProps(of ownerOf) []prop {
	return []prop{
		floatProp("handshake_timeout", func(s *settings) *float64 { return &s.handshakeTimeout }, of),
		intProp("inbound_buffer_size", func(s *settings) *int64 { return &s.inboundBufferSize }, of),
		intProp("outbound_buffer_size", func(s *settings) *int64 { return &s.outboundBufferSize }, of),
		intProp("max_queued_packets", func(s *settings) *int64 { return &s.maxQueuedPackets }, of),
		floatProp("heartbeat_interval", func(s *settings) *float64 { return &s.heartbeatInterval }, of),
		floatProp("pong_timeout", func(s *settings) *float64 { return &s.pongTimeout }, of),
		boolProp("compression_enabled", func(s *settings) *bool { return &s.compression }, of),
	}
}

// addProps appends the props' methods and properties to a class.
func addProps(c *bindings.Class, props []prop) {
	for _, p := range props {
		c.Methods = append(c.Methods, p.methods...)
		c.Properties = append(c.Properties, p.info)
	}
}
