package main

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// wsServer is GoWebSocketServer. peer.Server owns the set of peers; the
// server keeps only the GoWebSocketPeer objects it has handed out, so that
// get_peer returns the same object for the same id.
type wsServer struct {
	owner
	server       *peer.Server
	extraHeaders http.Header
	maxPacket    int                       // outbound_buffer_size when listen() was called
	peerObjs     map[int32]bindings.Object // made by get_peer, dropped after the peer's client_disconnected
	signalling   *peer.Conn                // the peer whose signal poll() is emitting
	events       []peer.Event
	ids          []int32
	packets      bindings.ArrayBuilder                      // get_packets' result
	addPacket    func(c *peer.Conn, data []byte, text bool) // s.addPacketTo, made once (a method value allocates)
}

var serverSignals struct {
	connected, disconnected, closeRequest, dataReceived bindings.StringName
}

func (s *wsServer) listen(port int64, protocols []string, bind string) int64 {
	const method = "listen"
	if s.server != nil && s.server.Listening() {
		return fail(method, "already listening; call stop() first", errAlreadyInUse)
	}
	opts, err := s.options(true, "")
	if err != nil {
		return godotError(method, err)
	}
	opts.ExtraHeaders = s.extraHeaders
	opts.Protocols = protocols
	srv := peer.NewServer(opts)
	if err := srv.Listen(int(port), bind); err != nil {
		srv.Stop()
		return godotError(method, err)
	}
	if s.server != nil {
		s.stop()
	}
	s.server, s.maxPacket = srv, s.packetLimit()
	return errOK
}

// stop stops the server and drops the peer objects it handed out (they stay
// valid for scripts that hold them, reporting STATE_CLOSED).
func (s *wsServer) stop() {
	if s.server == nil {
		return
	}
	s.server.Stop()
	for id, obj := range s.peerObjs {
		bindings.Unref(obj)
		delete(s.peerObjs, id)
	}
}

// conn is peer id's connection, nil when there is none: a peer the listening
// server knows, or the one whose signal poll() is emitting (peer.Server
// forgets a peer as soon as Poll returns its end, but the handlers of its
// signals, client_disconnected included, still reach it).
func (s *wsServer) conn(id int64) *peer.Conn {
	if c := s.signalling; c != nil && int64(c.ID()) == id {
		return c
	}
	if s.server == nil || !s.server.Listening() {
		return nil
	}
	return s.server.Peer(int32(id))
}

// infraServer (also get_packets' check) and serverID make GoWebSocketServer
// an infraHost.
func (s *wsServer) infraServer() (*peer.Server, string) {
	if s.server == nil || !s.server.Listening() {
		return nil, "server is not listening"
	}
	return s.server, ""
}

func (s *wsServer) serverID(id int64) int32 { return int32(id) }

// peerConn is conn for a method that needs a peer; an unknown id is
// reported as ERR_DOES_NOT_EXIST.
func (s *wsServer) peerConn(method string, id int64) (*peer.Conn, bool) {
	c := s.conn(id)
	if c == nil {
		fail(method, fmt.Sprintf("no peer with id %d", id), errDoesNotExist)
	}
	return c, c != nil
}

// peerObject returns the GoWebSocketPeer of c, the same one every time.
func (s *wsServer) peerObject(c *peer.Conn) bindings.Object {
	if obj, ok := s.peerObjs[c.ID()]; ok {
		return obj
	}
	obj, _ := newPeerObject(&s.mu, c, s.maxPacket)
	s.peerObjs[c.ID()] = obj
	return obj
}

// poll drains the server's events under the lock, then emits the signals
// without it; the object of a disconnected peer is dropped after its signal.
func (s *wsServer) poll() {
	s.mu.Lock()
	if s.server == nil {
		s.mu.Unlock()
		return
	}
	events := s.server.Poll(s.events[:0])
	s.events = nil
	obj := s.obj
	s.mu.Unlock()

	dataWatched := -1
	for i := range events {
		ev := &events[i]
		id := int64(ev.ID)
		if ev.Kind == peer.EventMessage {
			if dataWatched < 0 {
				dataWatched = boolToInt(bindings.HasConnections(obj, serverSignals.dataReceived))
			}
			if dataWatched == 0 {
				*ev = peer.Event{}
				continue
			}
		}
		s.mu.Lock()
		s.signalling = ev.Conn
		s.mu.Unlock()
		switch ev.Kind {
		case peer.EventConnected:
			bindings.Emit(obj, serverSignals.connected, id, ev.Protocol)
		case peer.EventMessage:
			bindings.Emit(obj, serverSignals.dataReceived, id)
		case peer.EventCloseRequest:
			bindings.Emit(obj, serverSignals.closeRequest, id, ev.Code, ev.Reason)
		case peer.EventDisconnected:
			bindings.Emit(obj, serverSignals.disconnected, id, ev.Clean)
		case peer.EventHandshake, peer.EventDrained, peer.EventError:
			emitInfra(obj, "GoWebSocketServer", ev, id)
		}
		s.mu.Lock()
		s.signalling = nil
		if ev.Kind == peer.EventDisconnected {
			if p, ok := s.peerObjs[ev.ID]; ok {
				delete(s.peerObjs, ev.ID)
				bindings.Unref(p)
			}
		}
		s.mu.Unlock()
		*ev = peer.Event{}
	}
	s.mu.Lock()
	if s.events == nil {
		s.events = events[:0]
	}
	s.mu.Unlock()
}

// getPackets is get_packets(max_packets): up to max (all when negative)
// queued messages of every peer, in the order they arrived, as
// [[id, packet, was_string], ...]. The messages are the ones get_packet
// would return: each is read once, through either.
func (s *wsServer) getPackets(c bindings.Call) {
	limit := c.Int(0)
	srv, why := s.infraServer()
	if srv == nil {
		fail("get_packets", why, errUnconfigured)
		return // an empty Array
	}
	b := &s.packets
	b.Reset()
	for n := int64(0); (limit < 0 || n < limit) && srv.ReadNext(s.addPacket); n++ {
	}
	b.Return(c)
}

func (s *wsServer) addPacketTo(c *peer.Conn, data []byte, text bool) {
	b := &s.packets
	b.Begin()
	b.Int(int64(c.ID()))
	b.Bytes(data)
	b.Bool(text)
	b.End()
}

func registerServerClass() {
	id := bindings.Arg{Name: "id", Type: bindings.TypeInt}
	str := func(name string) bindings.Arg { return bindings.Arg{Name: name, Type: bindings.TypeString} }
	writeMode := "GoWebSocketPeer.WriteMode"
	class := &bindings.Class{
		Name:   "GoWebSocketServer",
		Parent: "RefCounted",
		New: func(obj bindings.Object) any {
			s := &wsServer{owner: newOwner(obj), peerObjs: map[int32]bindings.Object{}}
			s.addPacket = s.addPacketTo
			return s
		},
		Free: func(self any) {
			s := self.(*wsServer)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.stop()
			s.settings.release()
			s.packets.Free()
		},
		Signals: []bindings.Signal{
			{Name: "client_connected", Args: []bindings.Arg{id, str("protocol")}},
			{Name: "client_disconnected", Args: []bindings.Arg{id, {Name: "was_clean_close", Type: bindings.TypeBool}}},
			{Name: "client_close_request", Args: []bindings.Arg{id, {Name: "code", Type: bindings.TypeInt}, str("reason")}},
			{Name: "data_received", Args: []bindings.Arg{id}},
		},
	}
	b := bindings.Bind(class, lockOf[*wsServer])
	b.Func("listen", []bindings.Arg{{Name: "port", Type: bindings.TypeInt},
		{Name: "protocols", Type: bindings.TypePackedStringArray, Default: []string{}},
		{Name: "bind_address", Type: bindings.TypeString, Default: "*"}},
		bindings.TypeInt, "", func(s *wsServer, c bindings.Call) {
			c.ReturnInt(s.listen(c.Int(0), c.Strings(1), c.String(2)))
		})
	b.Func("get_listen_port", nil, bindings.TypeInt, "", func(s *wsServer, c bindings.Call) {
		if s.server != nil && s.server.Listening() {
			c.ReturnInt(int64(s.server.Port()))
		}
	})
	b.Func("is_listening", nil, bindings.TypeBool, "", func(s *wsServer, c bindings.Call) {
		c.ReturnBool(s.server != nil && s.server.Listening())
	})
	b.Method("stop", nil, func(s *wsServer, _ bindings.Call) { s.stop() })
	b.Unlocked("poll", nil, func(s *wsServer, _ bindings.Call) { s.poll() })
	b.Func("has_peer", []bindings.Arg{id}, bindings.TypeBool, "", func(s *wsServer, c bindings.Call) {
		c.ReturnBool(s.conn(c.Int(0)) != nil)
	})
	b.Func("get_peer", []bindings.Arg{id}, bindings.TypeObject, "GoWebSocketPeer", func(s *wsServer, c bindings.Call) {
		if cn, ok := s.peerConn("get_peer", c.Int(0)); ok {
			c.ReturnObject(s.peerObject(cn))
		}
	})
	b.Func("get_peer_ids", nil, bindings.TypePackedInt32Array, "", func(s *wsServer, c bindings.Call) {
		s.ids = s.ids[:0]
		if s.server != nil && s.server.Listening() {
			s.ids = s.server.PeerIDs(s.ids)
		}
		slices.Sort(s.ids)
		c.ReturnInt32s(s.ids)
	})
	b.Func("get_packets", []bindings.Arg{{Name: "max_packets", Type: bindings.TypeInt, Default: -1}},
		bindings.TypeArray, "", func(s *wsServer, c bindings.Call) { s.getPackets(c) })
	b.Func("get_peer_address", []bindings.Arg{id}, bindings.TypeString, "", func(s *wsServer, c bindings.Call) {
		if cn, ok := s.peerConn("get_peer_address", c.Int(0)); ok {
			c.ReturnString(cn.RemoteHost())
		}
	})
	b.Func("get_peer_port", []bindings.Arg{id}, bindings.TypeInt, "", func(s *wsServer, c bindings.Call) {
		if cn, ok := s.peerConn("get_peer_port", c.Int(0)); ok {
			c.ReturnInt(int64(cn.RemotePort()))
		}
	})
	b.Func("disconnect_peer", append([]bindings.Arg{id}, closeArgs...),
		bindings.TypeInt, "", func(s *wsServer, c bindings.Call) {
			cn, ok := s.peerConn("disconnect_peer", c.Int(0))
			if !ok {
				c.ReturnInt(errDoesNotExist)
				return
			}
			c.ReturnInt(godotError("disconnect_peer", cn.Close(int(c.Int(1)), c.String(2))))
		})
	b.Func("set_extra_headers", []bindings.Arg{{Name: "headers", Type: bindings.TypePackedStringArray}}, bindings.TypeInt, "", func(s *wsServer, c bindings.Call) {
		h, err := peer.ParseHeaders(c.Strings(0))
		if err != nil {
			c.ReturnInt(godotError("set_extra_headers", err))
			return
		}
		s.extraHeaders = h
		if s.server != nil {
			s.server.SetExtraHeaders(h)
		}
		c.ReturnInt(errOK)
	})
	b.Func("broadcast", []bindings.Arg{{Name: "data", Type: bindings.TypePackedByteArray}, {Name: "mode", Type: bindings.TypeInt, Class: writeMode, Default: int(peer.WriteBinary)}},
		bindings.TypeInt, "", func(s *wsServer, c bindings.Call) {
			if s.server == nil || !s.server.Listening() {
				c.ReturnInt(fail("broadcast", "server is not listening", errUnconfigured))
				return
			}
			c.ReturnInt(godotError("broadcast", s.server.Broadcast(c.Bytes(0), peer.WriteMode(c.Int(1)))))
		})
	b.Func("get_peer_request", []bindings.Arg{id}, bindings.TypeDictionary, "", func(s *wsServer, c bindings.Call) {
		cn, ok := s.peerConn("get_peer_request", c.Int(0))
		if !ok {
			return
		}
		d := requestDict(cn.Request())
		c.ReturnDictionary(d)
		d.Free()
	})
	b.Func("get_stats", nil, bindings.TypeDictionary, "", func(s *wsServer, c bindings.Call) {
		var st peer.Stats
		if s.server != nil {
			st = s.server.Stats()
		}
		returnStats(c, st, true)
	})
	addCommonProps(b)
	b.Object("tls_certificate", "X509Certificate", func(s *wsServer) *bindings.Object { return &s.tlsCert })
	b.Object("tls_key", "CryptoKey", func(s *wsServer) *bindings.Object { return &s.tlsKey })
	b.Int("max_connections", func(s *wsServer) *int64 { return &s.maxConnections }, sizeValue)
	b.Strings("allowed_origins", func(s *wsServer) *[]string { return &s.allowedOrigins })
	registerInfra(b)
	bindings.Register(class)
	registerInfraNames()
	serverSignals.connected = bindings.Name("client_connected")
	serverSignals.disconnected = bindings.Name("client_disconnected")
	serverSignals.closeRequest = bindings.Name("client_close_request")
	serverSignals.dataReceived = bindings.Name("data_received")
}
