package main

import (
	"fmt"
	"strings"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// GoWebSocketServer behind infrastructure: trusted_proxies, proxy_protocol,
// health_path, drain() with drained(), and handshake_mode MANUAL with
// client_handshake / accept_peer / reject_peer. The logic is peer's; this
// registers it and turns its events into signals (inside poll()).

const (
	handshakeAuto   = 0
	handshakeManual = 1
)

var infraSignals struct {
	handshake, drained bindings.StringName
}

// handshakeModeValue accepts the HandshakeMode values.
func handshakeModeValue(v int64) error {
	if v != handshakeAuto && v != handshakeManual {
		return fmt.Errorf("%d is not a HandshakeMode (HANDSHAKE_MODE_AUTO = 0, HANDSHAKE_MODE_MANUAL = 1)", v)
	}
	return nil
}

// requestDict is a peer's upgrade request as get_peer_request and
// client_handshake give it: path, query, headers (lower-case names, values
// joined with ", "), and the client's address and port (from a trusted
// proxy: what it says; port 0 when it does not say). Free it after use.
func requestDict(req peer.RequestInfo) bindings.Dictionary {
	d, h := bindings.NewDictionary(), bindings.NewDictionary()
	d.SetString("path", req.Path)
	d.SetString("query", req.Query)
	for k, v := range req.Header {
		h.SetString(strings.ToLower(k), strings.Join(v, ", "))
	}
	d.SetDictionary("headers", h)
	h.Free()
	d.SetString("address", req.Host)
	d.SetInt("port", int64(req.Port))
	return d
}

// emitInfra emits the signal of an infrastructure event (poll(), unlocked).
func emitInfra(obj bindings.Object, ev *peer.Event) {
	switch ev.Kind {
	case peer.EventHandshake:
		d := requestDict(*ev.Request)
		bindings.Emit(obj, infraSignals.handshake, int64(ev.ID), d)
		d.Free()
	case peer.EventDrained:
		bindings.Emit(obj, infraSignals.drained)
	case peer.EventError:
		bindings.PushError("GoWebSocketServer: " + ev.Err.Error())
	}
}

// registerServerInfra adds the infrastructure members to GoWebSocketServer.
func registerServerInfra(b *bindings.Binder[*wsServer]) {
	class := b.Class
	id := bindings.Arg{Name: "id", Type: bindings.TypeInt}
	class.Constants = append(class.Constants,
		bindings.Constant{Enum: "HandshakeMode", Name: "HANDSHAKE_MODE_AUTO", Value: handshakeAuto},
		bindings.Constant{Enum: "HandshakeMode", Name: "HANDSHAKE_MODE_MANUAL", Value: handshakeManual})
	class.Signals = append(class.Signals,
		bindings.Signal{Name: "client_handshake", Args: []bindings.Arg{id, {Name: "request", Type: bindings.TypeDictionary}}},
		bindings.Signal{Name: "drained"})
	b.Strings("trusted_proxies", func(s *wsServer) *[]string { return &s.trustedProxies })
	b.Bool("proxy_protocol", func(s *wsServer) *bool { return &s.proxyProtocol })
	b.String("health_path", func(s *wsServer) *string { return &s.healthPath })
	b.Enum("handshake_mode", class.Name+".HandshakeMode", func(s *wsServer) *int64 { return &s.handshakeMode }, handshakeModeValue)
	b.Func("drain", []bindings.Arg{{Name: "timeout", Type: bindings.TypeFloat, Default: 10.0}}, bindings.TypeInt, "",
		func(s *wsServer, c bindings.Call) {
			t := c.Float(0)
			if err := durationValue(t); err != nil {
				c.ReturnInt(fail("drain", err.Error(), errInvalidParameter))
				return
			}
			if s.server == nil || !s.server.Listening() {
				c.ReturnInt(fail("drain", "server is not listening", errUnconfigured))
				return
			}
			c.ReturnInt(godotError("drain", s.server.Drain(seconds(t))))
		})
	b.Func("is_draining", nil, bindings.TypeBool, "", func(s *wsServer, c bindings.Call) {
		c.ReturnBool(s.server != nil && s.server.Listening() && s.server.Draining())
	})
	b.Func("accept_peer", []bindings.Arg{id}, bindings.TypeInt, "", func(s *wsServer, c bindings.Call) {
		if s.server == nil || !s.server.Listening() {
			c.ReturnInt(fail("accept_peer", "server is not listening", errUnconfigured))
			return
		}
		c.ReturnInt(godotError("accept_peer", s.server.AcceptPeer(int32(c.Int(0)))))
	})
	b.Func("reject_peer", []bindings.Arg{id, {Name: "http_status", Type: bindings.TypeInt, Default: 403},
		{Name: "reason", Type: bindings.TypeString, Default: ""}}, bindings.TypeInt, "", func(s *wsServer, c bindings.Call) {
		if s.server == nil || !s.server.Listening() {
			c.ReturnInt(fail("reject_peer", "server is not listening", errUnconfigured))
			return
		}
		c.ReturnInt(godotError("reject_peer", s.server.RejectPeer(int32(c.Int(0)), int(c.Int(1)), c.String(2))))
	})
}

func registerInfraNames() {
	infraSignals.handshake = bindings.Name("client_handshake")
	infraSignals.drained = bindings.Name("drained")
}
