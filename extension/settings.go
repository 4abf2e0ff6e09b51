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
	var err error
	if server {
		o.MaxConnections = int(s.maxConnections)
		o.AllowedOrigins = s.allowedOrigins
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
