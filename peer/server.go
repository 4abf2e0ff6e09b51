package peer

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Server accepts WebSocket peers. Its methods are for the caller goroutine
// (see the package documentation, Concurrency) unless noted.
type Server struct {
	opts Options
	lim  limits
	hub  hub

	mu        sync.Mutex // guards stopping, and orders wg.Add against Stop's wait
	stopping  bool
	listening bool
	hs        *http.Server
	port      int
	upgrader  websocket.Upgrader

	extra  atomic.Pointer[http.Header]
	active atomic.Int32 // connections being upgraded or open (MaxConnections)
	nextID atomic.Int32

	peers map[int32]*Conn // caller thread: from EventConnected until EventDisconnected was polled

	scratch []*Conn // caller thread: Broadcast's list of peers

	arrivals arrivals // caller thread: the order messages were polled in, for ReadNext

	infra infraState // infra.go
}

// NewServer returns a server with the given options (copied).
func NewServer(opts Options) *Server {
	opts.Protocols = append([]string(nil), opts.Protocols...)
	s := &Server{opts: opts, lim: resolve(&opts), peers: make(map[int32]*Conn)}
	s.hub.fp = newHubPath()
	if opts.ExtraHeaders != nil {
		h := opts.ExtraHeaders.Clone()
		s.extra.Store(&h)
	}
	return s
}

// SetExtraHeaders sets headers added to every later upgrade response. Any
// goroutine.
func (s *Server) SetExtraHeaders(h http.Header) {
	h = h.Clone()
	s.extra.Store(&h)
}

// netListen is net.Listen (a test replaces it).
var netListen = net.Listen

// Listen starts listening on a TCP port and serving WebSocket upgrades (any
// path; wss when Options.TLS is set). port 0 picks a free port (see Port);
// bindAddress "*" or "" binds every interface. The subprotocols served are
// Options.Protocols. ErrBusy when already listening, ErrInvalidArgument for
// a bad port.
func (s *Server) Listen(port int, bindAddress string) error {
	if s.listening {
		return ErrBusy
	}
	if port < 0 || port > 65535 {
		return ErrInvalidArgument
	}
	if bindAddress == "*" {
		bindAddress = ""
	}
	ln, err := netListen("tcp", net.JoinHostPort(bindAddress, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	base, err := s.prepareInfra(ln)
	if err != nil {
		_ = ln.Close()
		return err
	}
	var l net.Listener = countingListener{Listener: base, noDelay: s.opts.NoDelay}
	if s.opts.TLS != nil {
		cfg := s.opts.TLS.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		l = tls.NewListener(l, cfg)
	}
	// Over TLS, so it sees the frames; the http.Server then sees no
	// *tls.Conn and the TLS handshake happens on its first read, under the
	// same ReadHeaderTimeout deadline.
	l = watchListener{l}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: s.lim.handshakeTO,
		// Small buffers keep an idle connection near 20 KiB: the read side
		// reuses the HTTP server's 4 KiB reader, and a server writes each
		// message as one frame straight from its data whatever this size.
		ReadBufferSize:    0,
		WriteBufferSize:   4 << 10,
		EnableCompression: s.opts.Compression,
		CheckOrigin:       s.checkOrigin,
	}
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: s.lim.handshakeTO,
		IdleTimeout:       s.lim.handshakeTO,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnContext:       connContext(base),
	}
	s.mu.Lock()
	s.stopping = false
	s.hub.wg.Add(1)
	s.mu.Unlock()
	hs := s.hs
	go func() {
		defer s.hub.wg.Done()
		_ = hs.Serve(l)
	}()
	s.listening = true
	return nil
}

// Port is the bound port (0 when not listening).
func (s *Server) Port() int {
	if !s.listening {
		return 0
	}
	return s.port
}

// Listening reports whether Listen succeeded and Stop was not called.
func (s *Server) Listening() bool { return s.listening }

func (s *Server) checkOrigin(r *http.Request) bool {
	if len(s.opts.AllowedOrigins) == 0 {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range s.opts.AllowedOrigins {
		if o == origin {
			return true
		}
	}
	return false
}

// offersDeflate reports whether h's Sec-WebSocket-Extensions name
// permessage-deflate (what gorilla negotiates when compression is enabled).
func offersDeflate(h http.Header) bool {
	for _, v := range h.Values("Sec-WebSocket-Extensions") {
		if strings.Contains(v, "permessage-deflate") {
			return true
		}
	}
	return false
}

// selectProtocol picks the first of the client's protocols the server lists.
func selectProtocol(client, server []string) string {
	for _, c := range client {
		for _, p := range server {
			if c == p {
				return c
			}
		}
	}
	return ""
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		http.Error(w, "server stopping", http.StatusServiceUnavailable)
		return
	}
	s.hub.wg.Add(1)
	s.mu.Unlock()
	defer s.hub.wg.Done()
	if s.serveInfra(w, r) {
		return
	}

	n := s.active.Add(1)
	if s.opts.MaxConnections > 0 && int(n) > s.opts.MaxConnections {
		s.active.Add(-1)
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	ok := false
	defer func() {
		if !ok {
			s.active.Add(-1)
		}
	}()

	req := s.requestInfo(r)
	id, goOn := s.holdHandshake(w, r, &req)
	if !goOn {
		return
	}

	hdr := http.Header{}
	if h := s.extra.Load(); h != nil {
		for k, v := range *h {
			hdr[k] = append([]string(nil), v...)
		}
	}
	if p := selectProtocol(websocket.Subprotocols(r), s.opts.Protocols); p != "" {
		hdr.Set("Sec-WebSocket-Protocol", p)
	} else {
		hdr.Del("Sec-WebSocket-Protocol")
	}
	ws, err := s.upgrader.Upgrade(w, r, hdr)
	if err != nil {
		return
	}
	wc, isWatch := ws.NetConn().(*watchConn)
	if !isWatch {
		_ = ws.Close()
		return
	}
	nc := wc.Conn
	if t, isTLS := nc.(*tls.Conn); isTLS {
		nc = t.NetConn()
	}
	cc, isCounting := nc.(*countingConn)
	if !isCounting {
		_ = ws.Close()
		return
	}
	wc.startFrames()
	c := newConn(&s.hub, s.lim)
	c.srv = s
	c.url = r.RequestURI
	c.req = req
	c.attach(ws, cc, s.opts.Compression && offersDeflate(r.Header))
	c.setRemote(req.Host, req.Port)
	c.phase.Store(phOpen)

	s.mu.Lock()
	if s.stopping || s.infra.draining.Load() {
		s.mu.Unlock()
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	if id == 0 {
		id = s.nextID.Add(1)
	}
	c.id = id
	s.hub.register(c)
	s.hub.wg.Add(2)
	s.hub.push(item{kind: EventConnected, c: c, ev: &Event{Kind: EventConnected, Conn: c, ID: c.id, Protocol: ws.Subprotocol()}})
	s.mu.Unlock()
	ok = true
	c.start()
}

// Poll appends the events that happened since the last call to dst, in
// order, and returns it; it also writes what Send queued and may read from
// sockets, without blocking (see the package documentation). A peer is
// known (Peer, PeerIDs) from the Poll that returns its EventConnected until
// the one that returns its EventDisconnected.
func (s *Server) Poll(dst []Event) []Event {
	s.hub.flushDirty()
	s.hub.path().readAll(&s.hub)
	s.arrivals.prune(s.peers)
	q := s.hub.take()
	for i := range q {
		ev := q[i].apply()
		switch ev.Kind {
		case EventMessage:
			s.arrivals.add(ev.Conn)
		case EventConnected:
			s.peers[ev.ID] = ev.Conn
		case EventDisconnected:
			delete(s.peers, ev.ID)
		case EventError:
			s.infra.errs.Add(-1)
		}
		dst = append(dst, ev)
	}
	s.hub.release(q)
	return s.pollInfra(dst)
}

// Peer returns the peer with that id, nil when unknown.
func (s *Server) Peer(id int32) *Conn { return s.peers[id] }

// PeerIDs appends the ids of the known peers to dst.
func (s *Server) PeerIDs(dst []int32) []int32 {
	for id := range s.peers {
		dst = append(dst, id)
	}
	return dst
}

// DisconnectPeer closes one peer as Conn.Close does (ErrUnknownPeer when
// there is no such peer).
func (s *Server) DisconnectPeer(id int32, code int, reason string) error {
	c := s.peers[id]
	if c == nil {
		return ErrUnknownPeer
	}
	return c.Close(code, reason)
}

// Broadcast sends to every open peer as Send does; the first error is
// returned, the others are still sent. ErrNotListening when not listening.
// The peers' queues share one copy of data; to more than a few peers it is
// written at once by one goroutine of the server, not at the next Poll.
func (s *Server) Broadcast(data []byte, mode WriteMode) error {
	if !s.listening {
		return ErrNotListening
	}
	// A slice, not an iterator: a range-over-func body escapes (allocations
	// per call).
	all := s.scratch[:0]
	for _, c := range s.peers {
		all = append(all, c)
	}
	err := s.multicast(all, data, mode)
	clear(all)
	s.scratch = all[:0]
	return err
}

// SendTo sends to each of conns, peers of this server, as Broadcast does
// (one shared copy of data; a peer that is not open is skipped). A
// connection of another server or client is ErrInvalidArgument.
func (s *Server) SendTo(conns []*Conn, data []byte, mode WriteMode) error {
	if !s.listening {
		return ErrNotListening
	}
	for _, c := range conns {
		if c.hub != &s.hub {
			return ErrInvalidArgument
		}
	}
	return s.multicast(conns, data, mode)
}

// multicast queues data to every open connection of conns.
func (s *Server) multicast(conns []*Conn, data []byte, mode WriteMode) error {
	if err := checkMode(data, mode); err != nil {
		return err
	}
	// One copy of data, shared by the queues of every peer.
	n := int64(len(data))
	sh := sharedPool.Get().(*sharedBuf)
	sh.b = getBuf(len(data))
	copy(*sh.b, data)
	sh.refs.Store(1) // ours until the loop is done
	// Many peers: the flusher writes them right below, so no late wake-up
	// of each one's writer (see waker).
	lateWake := len(conns) <= directFlushConns
	var first error
	for _, c := range conns {
		if c.State() != StateOpen {
			continue
		}
		err := c.sendable()
		if err == nil {
			err = c.outRoom(n)
		}
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		sh.refs.Add(1)
		c.enqueue(outMsg{sh: sh, text: mode == WriteText}, n, lateWake)
	}
	sh.release()
	// Written now, off the caller's thread, rather than at the next Poll.
	if d := len(s.hub.dirty); d > directFlushConns || d > 0 && !lateWake {
		s.hub.wk.polled.Add(1)
		s.hub.handOff()
	}
	return first
}

// Stats sums the counters over the known peers (RTT: the mean of those
// measured) and counts them in Peers.
func (s *Server) Stats() Stats {
	var t Stats
	var rtt time.Duration
	var nrtt int
	for _, c := range s.peers {
		st := c.Stats()
		t.MessagesIn += st.MessagesIn
		t.MessagesOut += st.MessagesOut
		t.BytesIn += st.BytesIn
		t.BytesOut += st.BytesOut
		t.WireBytesIn += st.WireBytesIn
		t.WireBytesOut += st.WireBytesOut
		t.QueuedIn += st.QueuedIn
		t.QueuedOut += st.QueuedOut
		if st.RTT > 0 {
			rtt += st.RTT
			nrtt++
		}
	}
	if nrtt > 0 {
		t.RTT = rtt / time.Duration(nrtt) // mean over peers that measured one
	}
	t.Peers = len(s.peers)
	return t
}

// Stop closes every peer with 1001, stops listening and waits (bounded by
// CloseTimeout plus a little) for every goroutine. The next Poll reports the
// peers' EventDisconnected.
func (s *Server) Stop() {
	if !s.listening {
		return
	}
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.releaseHeld(http.StatusServiceUnavailable, "server stopping")
	_ = s.hs.Close()
	for _, c := range s.hub.liveConns() {
		_ = c.closeInternal(websocket.CloseGoingAway, "")
	}
	s.hub.wait(s.lim.closeTO + 500*time.Millisecond)
	s.listening = false
	s.hs = nil
}
