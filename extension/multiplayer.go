package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// GoWebSocketMultiplayerPeer: a MultiplayerPeerExtension for Godot's
// high-level multiplayer, with the wire format of Godot 4's own
// WebSocketMultiplayerPeer: the server's first message to a client is the
// client's id as a 4-byte little-endian int32 (2 or more); after that every
// packet is one binary message. Relaying between clients is SceneMultiplayer's
// (server relay), so packets carry no header.

// MultiplayerPeer.ConnectionStatus and TransferMode values.
const (
	mpDisconnected = 0
	mpConnecting   = 1
	mpConnected    = 2

	transferReliable = 2
)

// mpPeer is one remote peer: a client on the server, or the server (id 1) on
// a client.
type mpPeer struct {
	id     int32
	conn   *peer.Conn
	obj    bindings.Object // its GoWebSocketPeer, made by get_peer on first use
	queued int             // packets of this peer waiting in the multiplayer queue
	gone   bool            // disconnected (reported at the next poll) or dropped by force
}

// mpEmit is a signal to emit after the lock is released.
type mpEmit struct {
	signal bindings.StringName
	id     int64
	infra  *peer.Event // client_handshake, drained or an error report: emitInfra's
}

type wsMultiplayer struct {
	owner
	protocols []string
	headers   []string

	server   *peer.Server
	client   *peer.Client
	status   int64
	uniqueID int32
	deadline time.Time // client: the id must arrive before it

	peers  map[int32]*mpPeer
	conns  []*peer.Conn // put_packet's scratch list of receivers
	queue  []*mpPeer    // the sender of each waiting packet, in arrival order
	qhead  int
	gone   []*mpPeer // disconnected peers, reported at the next poll
	events []peer.Event
	emits  []mpEmit

	maxPacket int // the outbound_buffer_size the connections were made with

	target   int32
	mode     int64
	channel  int64
	refusing bool
	drained  bool             // EventDrained polled, emitted after the last peer_disconnected
	buf      bindings.CBuffer // the last packet handed to the engine
}

var mpSignals struct{ connected, disconnected bindings.StringName }

// mpID is the multiplayer id of a server connection: peer ids start at 1, and
// 1 is the server's own multiplayer id.
func mpID(connID int32) int32 { return connID + 1 }

// helloMessage is the server's first message to a client: its id as a
// 4-byte little-endian int32.
func helloMessage(id int32) [4]byte {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(id))
	return b
}

// parseHello reads a client's id from the server's first message; it is
// valid when the message is exactly 4 bytes and the id 2 or more (1 is the
// server, negative ids mean "all but").
func parseHello(data []byte) (int32, bool) {
	if len(data) != 4 {
		return 0, false
	}
	id := int32(binary.LittleEndian.Uint32(data))
	return id, id >= 2
}

func (m *wsMultiplayer) active() bool { return m.status != mpDisconnected }

func (m *wsMultiplayer) createServer(port int64, bind string) int64 {
	const method = "create_server"
	if m.active() {
		return fail(method, "already active; call close() first", errAlreadyInUse)
	}
	opts, err := m.options(true, "")
	if err == nil {
		opts.ExtraHeaders, err = peer.ParseHeaders(m.headers)
	}
	if err != nil {
		return godotError(method, err)
	}
	opts.Protocols = m.protocols
	srv := peer.NewServer(opts)
	if err := srv.Listen(int(port), bind); err != nil {
		srv.Stop()
		return godotError(method, err)
	}
	m.reset()
	m.server, m.status, m.uniqueID, m.maxPacket = srv, mpConnected, 1, m.packetLimit()
	return errOK
}

func (m *wsMultiplayer) createClient(url string) int64 {
	const method = "create_client"
	if m.active() {
		return fail(method, "already active; call close() first", errAlreadyInUse)
	}
	opts, err := m.options(false, url)
	if err == nil {
		opts.Header, err = peer.ParseHeaders(m.headers)
	}
	if err != nil {
		return godotError(method, err)
	}
	opts.Protocols = m.protocols
	cl := peer.NewClient(opts)
	if err := cl.Connect(url); err != nil {
		cl.Shutdown()
		return godotError(method, err)
	}
	m.reset()
	m.client, m.status, m.maxPacket = cl, mpConnecting, m.packetLimit()
	timeout := seconds(m.handshakeTimeout)
	if timeout <= 0 {
		timeout = peer.DefaultHandshakeTimeout // 0 means the default, as for peer's options
	}
	m.deadline = time.Now().Add(timeout)
	return errOK
}

// reset forgets every peer and packet. The caller has stopped the server or
// client (or never had one).
func (m *wsMultiplayer) reset() {
	for _, p := range m.peers {
		m.release(p)
	}
	for _, p := range m.gone {
		m.release(p)
	}
	clear(m.peers)
	clear(m.queue)
	m.queue, m.qhead, m.gone = m.queue[:0], 0, nil
	m.server, m.client = nil, nil
	m.status, m.uniqueID, m.target, m.drained = mpDisconnected, 0, 0, false
}

// infraServer and serverID make the multiplayer server an infraHost
// (drain, handshake_mode and friends).
func (m *wsMultiplayer) infraServer() (*peer.Server, string) {
	switch {
	case m.server != nil:
		return m.server, ""
	case m.client != nil:
		return nil, "this peer is a client: drain and handshakes are the server's (create_server())"
	}
	return nil, "not a server: call create_server() first"
}

// serverID is the server's id of multiplayer id (0, never a peer's, for an
// id no server peer can have).
func (m *wsMultiplayer) serverID(id int64) int32 {
	if id < 2 || id > math.MaxInt32 {
		return 0
	}
	return int32(id - 1)
}

// release drops the GoWebSocketPeer object of p (scripts holding it keep a
// valid object).
func (m *wsMultiplayer) release(p *mpPeer) {
	if p.obj != nil {
		bindings.Unref(p.obj)
		p.obj = nil
	}
}

// shutdown closes the connections and forgets everything; no signal is
// emitted, as with Godot's peer. A server stops at once (its port is free
// when this returns) after closing its peers with 1001, waiting at most the
// close timeout for their replies, as GoWebSocketServer.stop() does. A
// client's close handshake finishes in the background (the engine is never
// called from there).
func (m *wsMultiplayer) shutdown() {
	if srv := m.server; srv != nil {
		srv.Stop()
	}
	if cl := m.client; cl != nil {
		go cl.Shutdown()
	}
	m.reset()
}

// dropQueued removes p's waiting packets from the queue (reading them off its
// connection so the two stay in step).
func (m *wsMultiplayer) dropQueued(p *mpPeer) {
	if p.queued == 0 {
		return
	}
	kept := m.queue[:m.qhead]
	for _, q := range m.queue[m.qhead:] {
		if q == p {
			p.conn.ReadWith(func([]byte, bool) {})
			continue
		}
		kept = append(kept, q)
	}
	clear(m.queue[len(kept):])
	m.queue = kept
	p.queued = 0
}

func (m *wsMultiplayer) push(p *mpPeer) {
	m.queue = append(m.queue, p)
	p.queued++
}

func (m *wsMultiplayer) available() int { return len(m.queue) - m.qhead }

// poll drains the connection's events under the lock, then emits
// peer_connected / peer_disconnected without it (SceneMultiplayer's handlers
// send packets back through this object).
func (m *wsMultiplayer) poll() {
	m.mu.Lock()
	emits := m.emits[:0]
	m.emits = nil
	switch {
	case m.server != nil:
		emits = m.pollServer(emits)
	case m.client != nil:
		emits = m.pollClient(emits)
	}
	obj := m.obj
	m.mu.Unlock()

	for _, e := range emits {
		if e.infra != nil {
			emitInfra(obj, "GoWebSocketMultiplayerPeer", e.infra, e.id)
			continue
		}
		bindings.Emit(obj, e.signal, e.id)
	}
	clear(emits)
	m.mu.Lock()
	if m.emits == nil {
		m.emits = emits[:0]
	}
	m.mu.Unlock()
}

// reportGone reports the peers that disconnected during the previous poll:
// their packets that arrived before the disconnection were readable until now.
func (m *wsMultiplayer) reportGone(emits []mpEmit) []mpEmit {
	for _, p := range m.gone {
		m.dropQueued(p)
		if m.peers[p.id] == p {
			delete(m.peers, p.id)
			emits = append(emits, mpEmit{signal: mpSignals.disconnected, id: int64(p.id)})
		}
		m.release(p)
	}
	clear(m.gone)
	m.gone = m.gone[:0]
	return emits
}

func (m *wsMultiplayer) pollServer(emits []mpEmit) []mpEmit {
	emits = m.reportGone(emits)
	if m.drained { // after the peer_disconnected of the peers that left with it
		m.drained = false
		emits = append(emits, mpEmit{infra: &peer.Event{Kind: peer.EventDrained}})
	}
	events := m.server.Poll(m.events[:0])
	for i := range events {
		ev := &events[i]
		id := mpID(ev.ID)
		switch ev.Kind {
		case peer.EventConnected:
			if m.refusing {
				_ = ev.Conn.Close(1013, "not accepting new connections")
				break
			}
			hello := helloMessage(id)
			if err := ev.Conn.Send(hello[:], peer.WriteBinary); err != nil {
				bindings.PushError(fmt.Sprintf("GoWebSocketMultiplayerPeer: could not send peer %d its id: %v", id, err))
				_ = ev.Conn.Close(-1, "")
				break
			}
			m.peers[id] = &mpPeer{id: id, conn: ev.Conn}
			emits = append(emits, mpEmit{signal: mpSignals.connected, id: int64(id)})
		case peer.EventMessage:
			if p := m.peers[id]; p != nil && !p.gone {
				m.push(p)
			} else {
				ev.Conn.ReadWith(func([]byte, bool) {}) // refused or dropped peer
			}
		case peer.EventDisconnected:
			if p := m.peers[id]; p != nil && !p.gone {
				p.gone = true
				m.gone = append(m.gone, p)
			}
		case peer.EventHandshake: // handshake_mode MANUAL: the script answers
			if m.refusing {
				_ = m.server.RejectPeer(ev.ID, 503, "not accepting new connections")
				break
			}
			e := *ev
			emits = append(emits, mpEmit{id: int64(id), infra: &e})
		case peer.EventError: // a refused PROXY protocol connection: an engine error
			e := *ev
			emits = append(emits, mpEmit{infra: &e})
		case peer.EventDrained:
			if len(m.gone) > 0 {
				m.drained = true // emitted at the next poll, after their peer_disconnected
			} else {
				emits = append(emits, mpEmit{infra: &peer.Event{Kind: peer.EventDrained}})
			}
		}
		*ev = peer.Event{}
	}
	m.events = events[:0]
	return emits
}

func (m *wsMultiplayer) pollClient(emits []mpEmit) []mpEmit {
	if len(m.gone) > 0 { // the server went away during the previous poll
		emits = m.reportGone(emits)
		m.shutdown()
		return emits
	}
	events := m.client.Poll(m.events[:0])
	for i := range events {
		ev := &events[i]
		switch ev.Kind {
		case peer.EventConnectError:
			m.shutdown()
		case peer.EventMessage:
			if m.status == mpConnected {
				m.push(m.peers[1])
				break
			}
			if m.status != mpConnecting {
				ev.Conn.ReadWith(func([]byte, bool) {})
				break
			}
			var id int32
			ok := false
			ev.Conn.ReadWith(func(data []byte, _ bool) { id, ok = parseHello(data) })
			if !ok {
				bindings.PushError("GoWebSocketMultiplayerPeer: the server's first message is not a valid peer id (4-byte little-endian int32, 2 or more)")
				m.shutdown()
				break
			}
			m.uniqueID, m.status = id, mpConnected
			m.peers[1] = &mpPeer{id: 1, conn: ev.Conn}
			emits = append(emits, mpEmit{signal: mpSignals.connected, id: 1})
		case peer.EventDisconnected:
			if p := m.peers[1]; p != nil && !p.gone {
				p.gone = true
				m.gone = append(m.gone, p) // reported (and the status drops) at the next poll
			} else if m.status == mpConnecting {
				m.shutdown()
			}
		}
		*ev = peer.Event{}
	}
	m.events = events[:0]
	if m.status == mpConnecting && time.Now().After(m.deadline) {
		m.shutdown() // no id in time: connection_failed
	}
	return emits
}

// putPacket sends one packet to the target peer(s).
func (m *wsMultiplayer) putPacket(data []byte) int64 {
	const method = "put_packet"
	if m.status != mpConnected {
		return fail(method, "not connected", errUnconfigured)
	}
	if len(data) > m.maxPacket {
		return fail(method, fmt.Sprintf("packet of %d bytes is over the limit of %d (outbound_buffer_size)", len(data), m.maxPacket), errOutOfMemory)
	}
	if m.client != nil {
		p := m.peers[1]
		if p.gone {
			return errOK // the disconnection is reported at the next poll
		}
		return godotError(method, p.conn.Send(data, peer.WriteBinary))
	}
	if m.target > 0 {
		p := m.peers[m.target]
		if p == nil {
			return fail(method, fmt.Sprintf("no peer with id %d", m.target), errInvalidParameter)
		}
		return m.sendTo(p, data)
	}
	// Every peer (but one): one shared copy of data, written off the main
	// thread (peer.Server.SendTo).
	conns := m.conns[:0]
	for id, p := range m.peers {
		if m.target < 0 && id == -m.target || p.gone {
			continue
		}
		conns = append(conns, p.conn)
	}
	err := m.server.SendTo(conns, data, peer.WriteBinary)
	clear(conns)
	m.conns = conns[:0]
	return godotError(method, err)
}

// sendTo sends to one peer; packets to a peer that is closing are dropped
// quietly (its disconnection is reported by poll).
func (m *wsMultiplayer) sendTo(p *mpPeer, data []byte) int64 {
	if p.gone || p.conn.State() != peer.StateOpen {
		return errOK
	}
	return godotError("put_packet", p.conn.Send(data, peer.WriteBinary))
}

func (m *wsMultiplayer) getPacket(c bindings.Call) int64 {
	for m.qhead < len(m.queue) {
		p := m.queue[m.qhead]
		m.queue[m.qhead] = nil
		m.qhead++
		if m.qhead == len(m.queue) {
			m.queue, m.qhead = m.queue[:0], 0
		}
		p.queued--
		if p.conn.ReadWith(func(data []byte, _ bool) {
			*(*unsafe.Pointer)(c.Pointer(0)) = m.buf.Set(data)
			*(*int32)(c.Pointer(1)) = int32(len(data))
		}) {
			return errOK
		}
		// Someone read this peer's packet through get_peer(id): skip it.
	}
	return fail("get_packet", "no packet available", errUnavailable)
}

func (m *wsMultiplayer) disconnectPeer(id int64, force bool) {
	const method = "disconnect_peer"
	p := m.peers[int32(id)]
	if p == nil || p.gone && !force {
		fail(method, fmt.Sprintf("no peer with id %d", id), errDoesNotExist)
		return
	}
	if m.client != nil {
		if force {
			m.shutdown()
		} else {
			_ = m.client.Disconnect(1000, "")
		}
		return
	}
	if !force {
		_ = p.conn.Close(1000, "")
		return
	}
	// Dropped at once, without a peer_disconnected (as Godot's peer does).
	_ = p.conn.Close(-1, "")
	m.dropQueued(p)
	p.gone = true
	delete(m.peers, p.id)
	m.release(p)
}

// connectedPeer returns the peer with that id for get_peer and friends.
func (m *wsMultiplayer) connectedPeer(method string, id int64) *mpPeer {
	p := m.peers[int32(id)]
	if p == nil {
		fail(method, fmt.Sprintf("no peer with id %d", id), errDoesNotExist)
	}
	return p
}

func registerMultiplayerClass() {
	class := &bindings.Class{
		Name:   "GoWebSocketMultiplayerPeer",
		Parent: "MultiplayerPeerExtension",
		New: func(obj bindings.Object) any {
			return &wsMultiplayer{owner: newOwner(obj), peers: map[int32]*mpPeer{}, mode: transferReliable}
		},
		Free: func(self any) {
			m := self.(*wsMultiplayer)
			m.mu.Lock()
			defer m.mu.Unlock()
			m.shutdown()
			m.buf.Free()
			m.settings.release()
		},
	}
	id := bindings.Arg{Name: "id", Type: bindings.TypeInt}
	b := bindings.Bind(class, lockOf[*wsMultiplayer])
	b.Func("create_server", []bindings.Arg{{Name: "port", Type: bindings.TypeInt}, {Name: "bind_address", Type: bindings.TypeString, Default: "*"}},
		bindings.TypeInt, "", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(m.createServer(c.Int(0), c.String(1))) })
	b.Func("create_client", []bindings.Arg{{Name: "url", Type: bindings.TypeString}},
		bindings.TypeInt, "", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(m.createClient(c.String(0))) })
	b.Func("get_listen_port", nil, bindings.TypeInt, "", func(m *wsMultiplayer, c bindings.Call) {
		if m.server != nil {
			c.ReturnInt(int64(m.server.Port()))
		}
	})
	b.Func("get_peer", []bindings.Arg{id}, bindings.TypeObject, "GoWebSocketPeer", func(m *wsMultiplayer, c bindings.Call) {
		if p := m.connectedPeer("get_peer", c.Int(0)); p != nil {
			if p.obj == nil {
				p.obj, _ = newPeerObject(&m.mu, p.conn, m.maxPacket)
			}
			c.ReturnObject(p.obj)
		}
	})
	b.Func("get_peer_address", []bindings.Arg{id}, bindings.TypeString, "", func(m *wsMultiplayer, c bindings.Call) {
		if p := m.connectedPeer("get_peer_address", c.Int(0)); p != nil {
			c.ReturnString(p.conn.RemoteHost())
		}
	})
	b.Func("get_peer_port", []bindings.Arg{id}, bindings.TypeInt, "", func(m *wsMultiplayer, c bindings.Call) {
		if p := m.connectedPeer("get_peer_port", c.Int(0)); p != nil {
			c.ReturnInt(int64(p.conn.RemotePort()))
		}
	})
	b.Func("get_stats", nil, bindings.TypeDictionary, "", func(m *wsMultiplayer, c bindings.Call) {
		var st peer.Stats
		switch {
		case m.server != nil:
			st = m.server.Stats()
		case m.client != nil && m.client.Conn() != nil:
			st = m.client.Conn().Stats()
		}
		returnStats(c, st, m.server != nil)
	})

	// MultiplayerPeerExtension's virtuals.
	b.Virtual("_get_packet", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(m.getPacket(c)) })
	b.Virtual("_put_packet", func(m *wsMultiplayer, c bindings.Call) {
		var data []byte
		if n := c.Int(1); n > 0 {
			data = unsafe.Slice((*byte)(c.Pointer(0)), int(n))
		}
		c.ReturnInt(m.putPacket(data))
	})
	b.Virtual("_get_available_packet_count", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(int64(m.available())) })
	b.Virtual("_get_max_packet_size", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(int64(m.maxPacket)) })
	b.Virtual("_set_transfer_channel", func(m *wsMultiplayer, c bindings.Call) { m.channel = c.Int(0) })
	b.Virtual("_get_transfer_channel", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(m.channel) })
	b.Virtual("_set_transfer_mode", func(m *wsMultiplayer, c bindings.Call) { m.mode = c.Int(0) })
	b.Virtual("_get_transfer_mode", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(m.mode) })
	b.Virtual("_set_target_peer", func(m *wsMultiplayer, c bindings.Call) { m.target = int32(c.Int(0)) })
	b.Virtual("_get_packet_peer", func(m *wsMultiplayer, c bindings.Call) {
		id := int64(1)
		if m.available() > 0 {
			id = int64(m.queue[m.qhead].id)
		}
		c.ReturnInt(id)
	})
	// Every packet travels over TCP: reliable, in order, on channel 0.
	b.Virtual("_get_packet_mode", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(transferReliable) })
	b.Virtual("_get_packet_channel", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(0) })
	b.Virtual("_is_server", func(m *wsMultiplayer, c bindings.Call) { c.ReturnBool(m.server != nil) })
	// _poll takes the lock itself: it emits signals with the lock released.
	class.Virtuals = append(class.Virtuals, bindings.Virtual{Name: "_poll", Call: func(self any, _ bindings.Call) { self.(*wsMultiplayer).poll() }})
	b.Virtual("_close", func(m *wsMultiplayer, c bindings.Call) { m.shutdown() })
	b.Virtual("_disconnect_peer", func(m *wsMultiplayer, c bindings.Call) { m.disconnectPeer(c.Int(0), c.Bool(1)) })
	b.Virtual("_get_unique_id", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(int64(m.uniqueID)) })
	b.Virtual("_set_refuse_new_connections", func(m *wsMultiplayer, c bindings.Call) { m.refusing = c.Bool(0) })
	b.Virtual("_is_refusing_new_connections", func(m *wsMultiplayer, c bindings.Call) { c.ReturnBool(m.refusing) })
	b.Virtual("_is_server_relay_supported", func(m *wsMultiplayer, c bindings.Call) { c.ReturnBool(true) })
	b.Virtual("_get_connection_status", func(m *wsMultiplayer, c bindings.Call) { c.ReturnInt(m.status) })

	// Properties: Godot's WebSocketMultiplayerPeer's, then ours.
	b.Strings("supported_protocols", func(m *wsMultiplayer) *[]string { return &m.protocols })
	headers := bindings.Arg{Name: "value", Type: bindings.TypePackedStringArray}
	b.Method("set_handshake_headers", []bindings.Arg{headers}, func(m *wsMultiplayer, c bindings.Call) {
		v := c.Strings(0)
		if _, err := peer.ParseHeaders(v); err != nil {
			bindings.PushError("set_handshake_headers: " + err.Error())
			return
		}
		m.headers = v
	})
	b.Func("get_handshake_headers", nil, bindings.TypePackedStringArray, "", func(m *wsMultiplayer, c bindings.Call) { c.ReturnStrings(m.headers) })
	class.Properties = append(class.Properties, bindings.Property{Name: "handshake_headers", Type: bindings.TypePackedStringArray,
		Setter: "set_handshake_headers", Getter: "get_handshake_headers"})
	addCommonProps(b)
	b.Bool("verify_tls", func(m *wsMultiplayer) *bool { return &m.verifyTLS })
	b.Object("trusted_tls_certificate", "X509Certificate", func(m *wsMultiplayer) *bindings.Object { return &m.trustedCert })
	b.Object("tls_certificate", "X509Certificate", func(m *wsMultiplayer) *bindings.Object { return &m.tlsCert })
	b.Object("tls_key", "CryptoKey", func(m *wsMultiplayer) *bindings.Object { return &m.tlsKey })
	b.Int("max_connections", func(m *wsMultiplayer) *int64 { return &m.maxConnections }, sizeValue)
	b.Strings("allowed_origins", func(m *wsMultiplayer) *[]string { return &m.allowedOrigins })
	b.String("proxy_url", func(m *wsMultiplayer) *string { return &m.proxyURL })
	registerInfra(b)
	bindings.Register(class)
	mpSignals.connected = bindings.Name("peer_connected")
	mpSignals.disconnected = bindings.Name("peer_disconnected")
}
