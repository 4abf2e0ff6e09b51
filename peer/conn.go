package peer

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Conn: one connection's state, its setup (attach, start) and its
// accessors.

// internal phases (what the goroutines know; State is what the caller saw).
const (
	phConnecting int32 = iota
	phOpen
	phClosing
)

type connInfo struct {
	host     string
	port     int
	protocol string
}

// Conn is one WebSocket connection: a Client's, or a peer of a Server. Its
// methods marked "caller goroutine" belong to the caller of its Client's or
// Server's Poll (see the package documentation, Concurrency).
type Conn struct {
	id  int32
	hub *hub
	lim limits
	srv *Server // server peers: releases the MaxConnections slot
	url string
	req RequestInfo

	state atomic.Int32 // State the caller has seen (changed by Poll / Close)
	phase atomic.Int32 // what the goroutines know

	info       atomic.Pointer[connInfo]
	cc         atomic.Pointer[countingConn]
	fp         connPath        // set by attach; nil without a fast path for reads
	ws         *websocket.Conn // set before the goroutines start
	cancelDial atomic.Pointer[context.CancelFunc]
	t0         time.Time

	// outbound (Send appends, writer swaps out)
	outMu       sync.Mutex
	outQ        []outMsg
	closeCode   int // local Close arguments, guarded by outMu
	closeReason string
	localClose  bool // guarded by outMu
	dropped     bool // Close(-1) was called; guarded by outMu
	outBytes    atomic.Int64
	outCount    atomic.Int64
	wake        chan struct{}
	pingDue     atomic.Bool
	writeMu     sync.Mutex // held while writing data: the writer goroutine or Poll's flushDirect
	wspare      []outMsg   // spare queue, guarded by writeMu
	closeSent   bool       // a close frame went out (writeMu)
	ownFrames   bool       // writeFrame writes data frames, not gorilla (set by attach)
	dirty       bool       // caller thread: listed in hub.dirty

	// ending
	dead       chan struct{} // closed by abort
	deadOnce   sync.Once
	failMu     sync.Mutex
	failErr    error
	closeTimer atomic.Pointer[time.Timer]
	hbTimer    atomic.Pointer[time.Timer]
	readerDone chan struct{}
	finished   chan struct{} // closed once EventDisconnected is queued
	lingering  atomic.Bool
	// written by the reader before readerDone is closed
	peerClosed bool
	peerCode   int
	peerReason string
	readErr    error

	// inbound
	inBytes, inCount atomic.Int64
	chunks           []*[]byte // reader goroutine: readChunks scratch
	room             chan struct{}
	roomWait         atomic.Bool // the reader waits for room: pop signals it
	rq               []Message   // caller thread
	rqHead           int
	delivered, taken uint64 // caller thread: messages ever put in rq / taken out of it

	// caller thread, valid after EventDisconnected
	endCode   int
	endReason string

	// stats
	msgsIn, msgsOut, bytesIn, bytesOut atomic.Int64
	directIn                           atomic.Int64 // of msgsIn, read by Poll (a platform's fast path)
	directOut                          atomic.Int64 // of msgsOut, written whole by Poll's own write (flushDirect)
	rtt                                atomic.Int64
	pingAt                             atomic.Int64 // oldest unanswered ping (ns since t0), 0 none
}

func newConn(h *hub, lim limits) *Conn {
	c := &Conn{
		hub:        h,
		lim:        lim,
		wake:       make(chan struct{}, 1),
		room:       make(chan struct{}, 1),
		dead:       make(chan struct{}),
		readerDone: make(chan struct{}),
		finished:   make(chan struct{}),
		endCode:    -1,
		t0:         time.Now(),
	}
	c.info.Store(&connInfo{})
	return c
}

// attach binds an established gorilla connection (before the goroutines
// start). deflate: permessage-deflate was negotiated.
func (c *Conn) attach(ws *websocket.Conn, cc *countingConn, deflate bool) {
	c.ws = ws
	c.cc.Store(cc)
	wc, plain := ws.NetConn().(*watchConn)
	if plain {
		wc.deflate, wc.limit = deflate, c.lim.inBuf
	}
	plain = plain && wc.Conn == net.Conn(cc) // no TLS between gorilla and cc
	c.ownFrames = plain && c.lim.noDeflate
	if plain {
		// Plain TCP right under watchConn: Poll may read it directly.
		if p := c.hub.path().adopt(c, cc, wc); p != nil {
			c.fp, wc.fp = p, p
		}
	}
	cc.established.Store(true)
	ws.SetReadLimit(c.lim.inBuf)
	ws.SetCloseHandler(func(int, string) error { return nil }) // the writer replies, after flushing
	ws.SetPongHandler(c.onPong)
	ws.SetPingHandler(c.onPing)
	info := &connInfo{protocol: ws.Subprotocol()}
	if a, ok := ws.RemoteAddr().(*net.TCPAddr); ok {
		info.host, info.port = a.IP.String(), a.Port
	} else if h, p, err := net.SplitHostPort(ws.RemoteAddr().String()); err == nil {
		info.host = h
		info.port, _ = strconv.Atoi(p)
	}
	c.info.Store(info)
}

// start launches the reader and writer. The caller has done hub.wg.Add(2)
// and queued EventConnected.
func (c *Conn) start() {
	if c.lim.hb > 0 {
		t := time.AfterFunc(time.Hour, c.hbTick)
		c.hbTimer.Store(t)
		t.Reset(c.lim.hb)
	}
	go c.readLoop()
	go c.writeLoop()
}

// ID returns the connection id: a server's peers count from 1 and ids are
// never reused while the server lives; a client's connection is 1. Any
// goroutine.
func (c *Conn) ID() int32 { return c.id }

// State returns the ready state as the caller has seen it through Poll
// (and Close). Any goroutine.
func (c *Conn) State() State { return State(c.state.Load()) }

// RemoteHost is the peer's IP address ("" before connecting). Any goroutine.
func (c *Conn) RemoteHost() string { return c.info.Load().host }

// RemotePort is the peer's TCP port (0 before connecting). Any goroutine.
func (c *Conn) RemotePort() int { return c.info.Load().port }

// Protocol is the negotiated subprotocol ("" when none). Any goroutine.
func (c *Conn) Protocol() string { return c.info.Load().protocol }

// URL is the requested URL (client) or the request URI (server peer). Any
// goroutine.
func (c *Conn) URL() string { return c.url }

// Request returns the upgrade request of a server peer (zero for clients).
// Any goroutine; do not modify its Header.
func (c *Conn) Request() RequestInfo { return c.req }

// SetNoDelay sets TCP_NODELAY on the socket (ErrNotOpen before the client's
// TCP connection exists). Any goroutine, also while connecting.
func (c *Conn) SetNoDelay(on bool) error {
	cc := c.cc.Load()
	if cc == nil {
		return ErrNotOpen
	}
	return cc.setNoDelay(on)
}

// BufferedAmount is the outbound bytes queued by Send and not yet written to
// the socket. Any goroutine.
func (c *Conn) BufferedAmount() int { return int(c.outBytes.Load()) }

// RTT is the smoothed round trip of heartbeat pings (0 until measured, or
// without Options.HeartbeatInterval). Any goroutine.
func (c *Conn) RTT() time.Duration { return time.Duration(c.rtt.Load()) }

// Stats returns the connection's counters. Any goroutine.
func (c *Conn) Stats() Stats {
	s := Stats{
		MessagesIn:  c.msgsIn.Load(),
		MessagesOut: c.msgsOut.Load(),
		BytesIn:     c.bytesIn.Load(),
		BytesOut:    c.bytesOut.Load(),
		QueuedIn:    c.inBytes.Load(),
		QueuedOut:   c.outBytes.Load(),
		RTT:         c.RTT(),
	}
	if cc := c.cc.Load(); cc != nil {
		s.WireBytesIn = cc.in.Load()
		s.WireBytesOut = cc.out.Load()
	}
	return s
}

// CloseCode is the peer's close code once the connection ended cleanly (after
// EventDisconnected), -1 otherwise. Caller goroutine.
func (c *Conn) CloseCode() int { return c.endCode }

// CloseReason is the peer's close reason once the connection ended cleanly.
// Caller goroutine.
func (c *Conn) CloseReason() string { return c.endReason }
