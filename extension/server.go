package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// wsServer is GoWebSocketServer.
type wsServer struct {
	owner
	server       *peer.Server
	extraHeaders http.Header
	peers        map[int32]serverPeer
	events       []peer.Event
	ids          []int32
}

type serverPeer struct {
	obj  bindings.Object
	self *wsPeer
}

var serverSignals struct {
	connected, disconnected, closeRequest, dataReceived bindings.StringName
}

func serverSelf(self any) *wsServer { return self.(*wsServer) }

func (s *wsServer) listen(port int64, protocols []string, bind string) int64 {
	const method = "listen"
	if s.server != nil && s.server.Listening() {
		return fail(method, "already listening; call stop() first", errAlreadyInUse)
	}
	if port < 0 || port > 65535 {
		return fail(method, fmt.Sprintf("port %d is not in 0..65535", port), errInvalidParameter)
	}
	opts, err := s.options(true, "")
	if err != nil {
		return fail(method, err.Error(), errInvalidParameter)
	}
	opts.ExtraHeaders = s.extraHeaders
	opts.Protocols = protocols
	srv := peer.NewServer(opts)
	if err := srv.Listen(int(port), bind); err != nil {
		srv.Stop()
		code := godotError(method, err)
		if code == errFailed {
			code = errCantCreate
		}
		return code
	}
	if s.server != nil {
		s.stop()
	}
	s.server = srv
	return errOK
}

// stop stops the server and forgets its peers (their objects stay valid for
// scripts that hold them, reporting STATE_CLOSED).
func (s *wsServer) stop() {
	if s.server == nil {
		return
	}
	s.server.Stop()
	for id, p := range s.peers {
		bindings.Unref(p.obj)
		delete(s.peers, id)
	}
}

func (s *wsServer) peer(method string, id int64) (serverPeer, bool) {
	p, ok := s.peers[int32(id)]
	if !ok {
		fail(method, fmt.Sprintf("no peer with id %d", id), errDoesNotExist)
	}
	return p, ok
}

// poll drains the server's events under the lock, then emits the signals
// without it; a disconnected peer is forgotten after its signal.
func (s *wsServer) poll() {
	s.mu.Lock()
	if s.server == nil {
		s.mu.Unlock()
		return
	}
	events := s.server.Poll(s.events[:0])
	s.events = nil
	for _, ev := range events {
		if ev.Kind == peer.EventConnected {
			obj, self := newPeerObject(&s.mu, ev.Conn, int(s.outboundBufferSize))
			s.peers[ev.ID] = serverPeer{obj, self}
		}
	}
	obj := s.obj
	s.mu.Unlock()

	dataWatched := -1
	for i := range events {
		ev := &events[i]
		id := int64(ev.ID)
		switch ev.Kind {
		case peer.EventConnected:
			bindings.Emit(obj, serverSignals.connected, id, ev.Protocol)
		case peer.EventMessage:
			if dataWatched < 0 {
				dataWatched = boolToInt(bindings.HasConnections(obj, serverSignals.dataReceived))
			}
			if dataWatched == 1 {
				bindings.Emit(obj, serverSignals.dataReceived, id)
			}
		case peer.EventCloseRequest:
			bindings.Emit(obj, serverSignals.closeRequest, id, ev.Code, ev.Reason)
		case peer.EventDisconnected:
			bindings.Emit(obj, serverSignals.disconnected, id, ev.Clean)
			s.mu.Lock()
			if p, ok := s.peers[ev.ID]; ok {
				delete(s.peers, ev.ID)
				bindings.Unref(p.obj)
			}
			s.mu.Unlock()
		}
		*ev = peer.Event{}
	}
	s.mu.Lock()
	if s.events == nil {
		s.events = events[:0]
	}
	s.mu.Unlock()
}

func registerServerClass() {
	const cls = "GoWebSocketServer"
	of := func(self any) *owner { return &serverSelf(self).owner }
	m := func(name string, args []bindings.Arg, ret bindings.VariantType, retClass string, hasRet bool, f func(s *wsServer, c bindings.Call)) bindings.Method {
		return bindings.Method{Name: name, Args: args, Return: ret, ReturnClass: retClass, HasReturn: hasRet,
			Call: func(self any, c bindings.Call) {
				s := serverSelf(self)
				s.mu.Lock()
				defer s.mu.Unlock()
				f(s, c)
			}}
	}
	id := bindings.Arg{Name: "id", Type: bindings.TypeInt}
	str := func(name string) bindings.Arg { return bindings.Arg{Name: name, Type: bindings.TypeString} }
	writeMode := "GoWebSocketPeer.WriteMode"
	class := &bindings.Class{
		Name:   cls,
		Parent: "RefCounted",
		New: func(obj bindings.Object) any {
			return &wsServer{owner: newOwner(obj), peers: map[int32]serverPeer{}}
		},
		Free: func(self any) {
			s := serverSelf(self)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.stop()
			s.settings.release()
		},
		Methods: []bindings.Method{
			m("listen", []bindings.Arg{{Name: "port", Type: bindings.TypeInt},
				{Name: "protocols", Type: bindings.TypePackedStringArray, Default: []string{}},
				{Name: "bind_address", Type: bindings.TypeString, Default: "*"}},
				bindings.TypeInt, "", true, func(s *wsServer, c bindings.Call) {
					c.ReturnInt(s.listen(c.Int(0), c.Strings(1), c.String(2)))
				}),
			m("get_listen_port", nil, bindings.TypeInt, "", true, func(s *wsServer, c bindings.Call) {
				if s.server != nil && s.server.Listening() {
					c.ReturnInt(int64(s.server.Port()))
				}
			}),
			m("is_listening", nil, bindings.TypeBool, "", true, func(s *wsServer, c bindings.Call) {
				c.ReturnBool(s.server != nil && s.server.Listening())
			}),
			m("stop", nil, bindings.TypeNil, "", false, func(s *wsServer, c bindings.Call) { s.stop() }),
			{Name: "poll", Call: func(self any, c bindings.Call) { serverSelf(self).poll() }},
			m("has_peer", []bindings.Arg{id}, bindings.TypeBool, "", true, func(s *wsServer, c bindings.Call) {
				_, ok := s.peers[int32(c.Int(0))]
				c.ReturnBool(ok)
			}),
			m("get_peer", []bindings.Arg{id}, bindings.TypeObject, "GoWebSocketPeer", true, func(s *wsServer, c bindings.Call) {
				if p, ok := s.peer("get_peer", c.Int(0)); ok {
					c.ReturnObject(p.obj)
				}
			}),
			m("get_peer_ids", nil, bindings.TypePackedInt32Array, "", true, func(s *wsServer, c bindings.Call) {
				s.ids = s.ids[:0]
				for id := range s.peers {
					s.ids = append(s.ids, id)
				}
				slices.Sort(s.ids)
				c.ReturnInt32s(s.ids)
			}),
			m("get_peer_address", []bindings.Arg{id}, bindings.TypeString, "", true, func(s *wsServer, c bindings.Call) {
				if p, ok := s.peer("get_peer_address", c.Int(0)); ok {
					c.ReturnString(p.self.conn.RemoteHost())
				}
			}),
			m("get_peer_port", []bindings.Arg{id}, bindings.TypeInt, "", true, func(s *wsServer, c bindings.Call) {
				if p, ok := s.peer("get_peer_port", c.Int(0)); ok {
					c.ReturnInt(int64(p.self.conn.RemotePort()))
				}
			}),
			m("disconnect_peer", []bindings.Arg{id, {Name: "code", Type: bindings.TypeInt, Default: 1000}, {Name: "reason", Type: bindings.TypeString, Default: ""}},
				bindings.TypeInt, "", true, func(s *wsServer, c bindings.Call) {
					p, ok := s.peer("disconnect_peer", c.Int(0))
					if !ok {
						c.ReturnInt(errDoesNotExist)
						return
					}
					c.ReturnInt(godotError("disconnect_peer", p.self.conn.Close(int(c.Int(1)), c.String(2))))
				}),
			m("set_extra_headers", []bindings.Arg{{Name: "headers", Type: bindings.TypePackedStringArray}}, bindings.TypeInt, "", true, func(s *wsServer, c bindings.Call) {
				h, err := parseHeaders(c.Strings(0))
				if err != nil {
					c.ReturnInt(fail("set_extra_headers", err.Error(), errInvalidParameter))
					return
				}
				s.extraHeaders = h
				if s.server != nil {
					s.server.SetExtraHeaders(h)
				}
				c.ReturnInt(errOK)
			}),
			m("broadcast", []bindings.Arg{{Name: "data", Type: bindings.TypePackedByteArray}, {Name: "mode", Type: bindings.TypeInt, Class: writeMode, Default: int(peer.WriteBinary)}},
				bindings.TypeInt, "", true, func(s *wsServer, c bindings.Call) {
					if s.server == nil || !s.server.Listening() {
						c.ReturnInt(fail("broadcast", "server is not listening", errUnconfigured))
						return
					}
					c.ReturnInt(godotError("broadcast", s.server.Broadcast(c.Bytes(0), peer.WriteMode(c.Int(1)))))
				}),
			m("get_peer_request", []bindings.Arg{id}, bindings.TypeDictionary, "", true, func(s *wsServer, c bindings.Call) {
				p, ok := s.peer("get_peer_request", c.Int(0))
				if !ok {
					return
				}
				req := p.self.conn.Request()
				d, h := bindings.NewDictionary(), bindings.NewDictionary()
				d.SetString("path", req.Path)
				d.SetString("query", req.Query)
				for k, v := range req.Header {
					h.SetString(strings.ToLower(k), strings.Join(v, ", "))
				}
				d.SetDictionary("headers", h)
				c.ReturnDictionary(d)
				h.Free()
				d.Free()
			}),
			m("get_stats", nil, bindings.TypeDictionary, "", true, func(s *wsServer, c bindings.Call) {
				var st peer.Stats
				if s.server != nil {
					st = s.server.Stats()
				}
				d := statsDictionary(st, true)
				c.ReturnDictionary(d)
				d.Free()
			}),
		},
		Signals: []bindings.Signal{
			{Name: "client_connected", Args: []bindings.Arg{id, str("protocol")}},
			{Name: "client_disconnected", Args: []bindings.Arg{id, {Name: "was_clean_close", Type: bindings.TypeBool}}},
			{Name: "client_close_request", Args: []bindings.Arg{id, {Name: "code", Type: bindings.TypeInt}, str("reason")}},
			{Name: "data_received", Args: []bindings.Arg{id}},
		},
	}
	addProps(class, commonProps(of))
	addProps(class, []prop{
		objectProp("tls_certificate", "X509Certificate", func(s *settings) *bindings.Object { return &s.tlsCert }, of),
		objectProp("tls_key", "CryptoKey", func(s *settings) *bindings.Object { return &s.tlsKey }, of),
		intProp("max_connections", func(s *settings) *int64 { return &s.maxConnections }, of),
		stringsProp("allowed_origins", func(s *settings) *[]string { return &s.allowedOrigins }, of),
	})
	bindings.Register(class)
	serverSignals.connected = bindings.Name("client_connected")
	serverSignals.disconnected = bindings.Name("client_disconnected")
	serverSignals.closeRequest = bindings.Name("client_close_request")
	serverSignals.dataReceived = bindings.Name("data_received")
}
