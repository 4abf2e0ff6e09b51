package main

import (
	"fmt"
	"math"
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

	trustedProxies []string
	proxyProtocol  bool
	healthPath     string
	handshakeMode  int64
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

// own gives the generic property helpers the owner inside a client or server.
func (o *owner) own() *owner { return o }

// lockOf is the Binder lock of clients and servers.
func lockOf[T interface{ own() *owner }](self T) sync.Locker { return &self.own().mu }

// release drops the references the settings hold on engine objects.
func (s *settings) release() {
	for _, o := range []*bindings.Object{&s.trustedCert, &s.tlsCert, &s.tlsKey} {
		bindings.Unref(*o)
		*o = nil
	}
}

// packetLimit is the largest message the connections made with these
// settings send (PacketPeer.get_max_packet_size): outbound_buffer_size, whose
// 0 means the default.
func (s *settings) packetLimit() int {
	if s.outboundBufferSize <= 0 {
		return peer.DefaultOutboundBufferSize
	}
	return int(s.outboundBufferSize)
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
	var err error
	if server {
		o.MaxConnections = int(s.maxConnections)
		o.AllowedOrigins = s.allowedOrigins
		o.TrustedProxies = s.trustedProxies
		o.ProxyProtocol = s.proxyProtocol
		o.HealthPath = s.healthPath
		o.ManualHandshake = s.handshakeMode == handshakeManual
		if s.tlsCert != nil || s.tlsKey != nil {
			o.TLS, err = peer.ServerTLSConfig(certPEM(s.tlsCert), keyPEM(s.tlsKey))
		}
		return o, err
	}
	o.ProxyURL = s.proxyURL
	o.AutoReconnect = s.autoReconnect
	o.TLS, err = peer.ClientTLSConfig(rawURL, s.verifyTLS, certPEM(s.trustedCert))
	return o, err
}

var (
	x509SaveToString      bindings.MethodBind // X509Certificate.save_to_string() -> String
	cryptoKeySaveToString bindings.MethodBind // CryptoKey.save_to_string(public_only: bool) -> String
)

// certPEM is an X509Certificate's PEM text (nil for no certificate).
func certPEM(cert bindings.Object) []byte {
	if cert == nil {
		return nil
	}
	if !x509SaveToString.Valid() {
		x509SaveToString = bindings.GetMethodBind("X509Certificate", "save_to_string", 2841200299)
	}
	return []byte(x509SaveToString.CallString(cert))
}

// keyPEM is a CryptoKey's private key as PEM text (nil for no key).
func keyPEM(key bindings.Object) []byte {
	if key == nil {
		return nil
	}
	if !cryptoKeySaveToString.Valid() {
		cryptoKeySaveToString = bindings.GetMethodBind("CryptoKey", "save_to_string", 32795936)
	}
	return []byte(cryptoKeySaveToString.CallString(key, false))
}

// durationValue accepts a duration in seconds >= 0.
func durationValue(v float64) error {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%v is not a duration in seconds >= 0", v)
	}
	return nil
}

// sizeValue accepts a size or count that fits peer's int options.
func sizeValue(v int64) error {
	if v < 0 || v > math.MaxInt32 {
		return fmt.Errorf("%d is out of range", v)
	}
	return nil
}

// addCommonProps registers the properties both clients and servers have.
func addCommonProps[T interface{ own() *owner }](b *bindings.Binder[T]) {
	b.Float("handshake_timeout", func(t T) *float64 { return &t.own().handshakeTimeout }, durationValue)
	b.Int("inbound_buffer_size", func(t T) *int64 { return &t.own().inboundBufferSize }, sizeValue)
	b.Int("outbound_buffer_size", func(t T) *int64 { return &t.own().outboundBufferSize }, sizeValue)
	b.Int("max_queued_packets", func(t T) *int64 { return &t.own().maxQueuedPackets }, sizeValue)
	b.Float("heartbeat_interval", func(t T) *float64 { return &t.own().heartbeatInterval }, durationValue)
	b.Float("pong_timeout", func(t T) *float64 { return &t.own().pongTimeout }, durationValue)
	b.Bool("compression_enabled", func(t T) *bool { return &t.own().compression })
}
