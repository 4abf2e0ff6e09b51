package main

import (
	"fmt"
	"strings"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// GoWebSocketServer and GoWebSocketMultiplayerPeer behind infrastructure:
// trusted_proxies, proxy_protocol, health_path, drain() with drained(), and
// handshake_mode MANUAL with client_handshake / accept_peer / reject_peer.
// The logic is peer's; this registers it and turns its events into signals
// (inside poll()).

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

// infraHost is a class that serves behind infrastructure: GoWebSocketServer
// and GoWebSocketMultiplayerPeer's server. registerInfra gives both the same
// members over the same peer.Server code.
type infraHost interface {
	own() *owner
	// infraServer returns the listening server, or nil and why there is none.
	infraServer() (*peer.Server, string)
	// serverID turns the id a script sees into the peer.Server's id.
	serverID(id int64) int32
}

// emitInfra emits the signal of an infrastructure event (poll(), unlocked);
// id is the one the script sees.
func emitInfra(obj bindings.Object, class string, ev *peer.Event, id int64) {
	switch ev.Kind {
	case peer.EventHandshake:
		d := requestDict(*ev.Request)
		bindings.Emit(obj, infraSignals.handshake, id, d)
		d.Free()
	case peer.EventDrained:
		bindings.Emit(obj, infraSignals.drained)
	case peer.EventError:
		bindings.PushError(class + ": " + ev.Err.Error())
	}
}

// registerInfra adds the infrastructure members to a server class.
func registerInfra[T infraHost](b *bindings.Binder[T]) {
	class := b.Class
	id := bindings.Arg{Name: "id", Type: bindings.TypeInt}
	class.Constants = append(class.Constants,
		bindings.Constant{Enum: "HandshakeMode", Name: "HANDSHAKE_MODE_AUTO", Value: handshakeAuto},
		bindings.Constant{Enum: "HandshakeMode", Name: "HANDSHAKE_MODE_MANUAL", Value: handshakeManual})
	class.Signals = append(class.Signals,
		bindings.Signal{Name: "client_handshake", Args: []bindings.Arg{id, {Name: "request", Type: bindings.TypeDictionary}}},
		bindings.Signal{Name: "drained"})
	b.Strings("trusted_proxies", func(t T) *[]string { return &t.own().trustedProxies })
	b.Bool("proxy_protocol", func(t T) *bool { return &t.own().proxyProtocol })
	b.String("health_path", func(t T) *string { return &t.own().healthPath })
	b.Enum("handshake_mode", class.Name+".HandshakeMode", func(t T) *int64 { return &t.own().handshakeMode }, handshakeModeValue)
	// server returns the listening server, or reports why there is none.
	server := func(t T, method string, c bindings.Call) *peer.Server {
		srv, why := t.infraServer()
		if srv == nil {
			c.ReturnInt(fail(method, why, errUnconfigured))
		}
		return srv
	}
	b.Func("drain", []bindings.Arg{{Name: "timeout", Type: bindings.TypeFloat, Default: 10.0}}, bindings.TypeInt, "",
		func(t T, c bindings.Call) {
			f := c.Float(0)
			if err := durationValue(f); err != nil {
				c.ReturnInt(fail("drain", err.Error(), errInvalidParameter))
				return
			}
			if srv := server(t, "drain", c); srv != nil {
				c.ReturnInt(godotError("drain", srv.Drain(seconds(f))))
			}
		})
	b.Func("is_draining", nil, bindings.TypeBool, "", func(t T, c bindings.Call) {
		srv, _ := t.infraServer()
		c.ReturnBool(srv != nil && srv.Draining())
	})
	b.Func("accept_peer", []bindings.Arg{id}, bindings.TypeInt, "", func(t T, c bindings.Call) {
		if srv := server(t, "accept_peer", c); srv != nil {
			c.ReturnInt(godotError("accept_peer", srv.AcceptPeer(t.serverID(c.Int(0)))))
		}
	})
	b.Func("reject_peer", []bindings.Arg{id, {Name: "http_status", Type: bindings.TypeInt, Default: 403},
		{Name: "reason", Type: bindings.TypeString, Default: ""}}, bindings.TypeInt, "", func(t T, c bindings.Call) {
		if srv := server(t, "reject_peer", c); srv != nil {
			c.ReturnInt(godotError("reject_peer", srv.RejectPeer(t.serverID(c.Int(0)), int(c.Int(1)), c.String(2))))
		}
	})
}

func registerInfraNames() {
	infraSignals.handshake = bindings.Name("client_handshake")
	infraSignals.drained = bindings.Name("drained")
}
