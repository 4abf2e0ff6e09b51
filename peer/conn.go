package peer

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// Errors that explain why a connection ended (Event.Err of EventDisconnected).
var (
	ErrMessageTooBig = errors.New("received message larger than InboundBufferSize (closed with 1009)")
	ErrPongTimeout   = errors.New("no pong within PongTimeout")
	ErrCloseTimeout  = errors.New("close handshake timed out")
	ErrAborted       = errors.New("connection dropped without close handshake")
)

// internal phases (what the goroutines know; State is what the caller saw).
const (
	phConnecting int32 = iota
	phOpen
	phClosing
)

// limits are Options with defaults applied.
type limits struct {
	inBuf, outBuf, maxPk int64
	hb, pongTO, closeTO  time.Duration
	handshakeTO          time.Duration
	noDeflate            bool // no permessage-deflate (see Conn.ownFrames)
	client               bool // our frames are masked
}

func resolve(o *Options) limits {
	l := limits{
		inBuf:       int64(o.InboundBufferSize),
		outBuf:      int64(o.OutboundBufferSize),
		maxPk:       int64(o.MaxQueuedPackets),
		hb:          o.HeartbeatInterval,
		pongTO:      o.PongTimeout,
		closeTO:     o.CloseTimeout,
		handshakeTO: o.HandshakeTimeout,
		noDeflate:   !o.Compression,
	}
	if l.inBuf <= 0 {
		l.inBuf = DefaultInboundBufferSize
	}
	if l.outBuf <= 0 {
		l.outBuf = DefaultOutboundBufferSize
	}
	if l.maxPk <= 0 {
		l.maxPk = DefaultMaxQueuedPackets
	}
	if l.hb < 0 {
		l.hb = 0
	}
	if l.pongTO <= 0 {
		l.pongTO = 2 * l.hb
	}
	if l.closeTO <= 0 {
		l.closeTO = DefaultCloseTimeout
	}
	if l.handshakeTO <= 0 {
		l.handshakeTO = DefaultHandshakeTimeout
	}
	return l
}

type connInfo struct {
	host     string
	port     int
	protocol string
}

type outMsg struct {
	b    *[]byte
	text bool
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
	dr         *directRead     // set by attach; nil without direct reads
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
	rq               []Message // caller thread
	rqHead           int

	// caller thread, valid after EventDisconnected
	endCode   int
	endReason string

	// stats
	msgsIn, msgsOut, bytesIn, bytesOut atomic.Int64
	directIn                           atomic.Int64 // of msgsIn, read by Poll (direct.go)
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
	if plain && directReads {
		// Plain TCP right under watchConn: the socket leaves Go's poller
		// and Poll may read it directly.
		if fc := cc.takeOver(); fc != nil {
			c.dr = newDirectRead(c, cc, wc, fc)
			wc.dr = c.dr
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

// Available returns how many messages Read can return now. Caller goroutine.
func (c *Conn) Available() int { return len(c.rq) - c.rqHead }

// Read returns the next message made readable by Poll, in the order they
// arrived; ok is false when there is none. The caller owns m.Data. Caller
// goroutine.
func (c *Conn) Read() (Message, bool) {
	m, ok := c.pop()
	m.buf = nil // the caller owns Data now
	return m, ok
}

// ReadWith hands the next message to f without giving it away: data is valid
// only during the call (its buffer is reused afterwards), which saves the
// allocation Read's owned copy costs. It reports whether there was one.
// Caller goroutine.
func (c *Conn) ReadWith(f func(data []byte, text bool)) bool {
	m, ok := c.pop()
	if !ok {
		return false
	}
	f(m.Data, m.Text)
	if m.buf != nil {
		putBuf(m.buf)
	}
	return true
}

func (c *Conn) pop() (Message, bool) {
	if c.rqHead >= len(c.rq) {
		return Message{}, false
	}
	m := c.rq[c.rqHead]
	c.rq[c.rqHead] = Message{}
	c.rqHead++
	if c.rqHead == len(c.rq) {
		c.rq = c.rq[:0]
		c.rqHead = 0
	}
	c.inBytes.Add(-int64(len(m.Data)))
	c.inCount.Add(-1)
	select {
	case c.room <- struct{}{}:
	default:
	}
	return m, true
}

// deliver appends a message to the readable queue (Poll, caller thread).
func (c *Conn) deliver(m Message) {
	if len(c.rq) == cap(c.rq) && c.rqHead > 0 {
		n := copy(c.rq, c.rq[c.rqHead:])
		clear(c.rq[n:])
		c.rq = c.rq[:n]
		c.rqHead = 0
	}
	c.rq = append(c.rq, m)
}

// Send queues one message (a text message must be valid UTF-8). It copies
// data and never blocks; the next Poll, or the connection's writer
// goroutine, writes it. Errors: ErrNotOpen (not StateOpen), ErrOutboundFull
// (past Options.OutboundBufferSize or MaxQueuedPackets; try again after a
// Poll), ErrTooLarge (larger than OutboundBufferSize), ErrInvalidUTF8,
// ErrInvalidArgument (mode). Caller goroutine.
func (c *Conn) Send(data []byte, mode WriteMode) error {
	if c.state.Load() != int32(StateOpen) || c.phase.Load() != phOpen {
		return ErrNotOpen
	}
	var text bool
	switch mode {
	case WriteText:
		text = true
		if !utf8.Valid(data) {
			return ErrInvalidUTF8
		}
	case WriteBinary:
	default:
		return ErrInvalidArgument
	}
	n := int64(len(data))
	if n > c.lim.outBuf {
		return ErrTooLarge
	}
	// Only this (caller) thread adds; the writer only subtracts.
	if c.outCount.Load() >= c.lim.maxPk || c.outBytes.Load()+n > c.lim.outBuf {
		return ErrOutboundFull
	}
	b := getBuf(len(data))
	copy(*b, data)
	c.outBytes.Add(n)
	c.outCount.Add(1)
	c.outMu.Lock()
	wasEmpty := len(c.outQ) == 0
	c.outQ = append(c.outQ, outMsg{b: b, text: text})
	c.outMu.Unlock()
	// The next Poll writes small amounts directly; the waker wakes the
	// writer goroutine if no Poll comes soon (see waker). Where Poll cannot
	// write, or there is more than it writes, the writer is woken at once.
	direct := c.cc.Load().raw != nil
	if direct && !c.dirty {
		c.dirty = true
		c.hub.dirty = append(c.hub.dirty, c)
	}
	switch {
	case wasEmpty && direct:
		c.hub.wakeWriter(c)
	case wasEmpty, c.outBytes.Load() > directMaxBytes, c.outCount.Load() > directMaxCount:
		c.signal()
	}
	return nil
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// ValidCloseCode reports whether code may be sent in a close frame
// (1000-1003, 1007-1013, 3000-4999: also the codes accepted on receipt).
func ValidCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1013, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// Close starts the closing handshake: queued messages are sent, then the
// close frame with code and reason; the socket closes when the peer answers
// or after Options.CloseTimeout. code must be sendable (see ValidCloseCode;
// else ErrInvalidCloseCode), reason at most MaxCloseReason bytes of UTF-8
// (ErrReasonTooLong, ErrInvalidUTF8). code -1 drops the TCP connection at
// once, without a handshake. A connection still connecting is cancelled.
// Closing a client's connection stops its auto-reconnection. ErrNotOpen when
// already closing or closed. EventDisconnected follows through Poll. Caller
// goroutine.
func (c *Conn) Close(code int, reason string) error {
	if code == -1 {
		if c.phase.Load() == phConnecting {
			return c.closeInternal(1000, "")
		}
		if c.state.Load() == int32(StateClosed) {
			return ErrNotOpen
		}
		c.outMu.Lock()
		c.dropped = true // stops auto-reconnect, as a close handshake does
		c.outMu.Unlock()
		c.phase.Store(phClosing)
		c.state.CompareAndSwap(int32(StateOpen), int32(StateClosing))
		c.fail(ErrAborted)
		return nil
	}
	if err := validateClose(code, reason); err != nil {
		return err
	}
	return c.closeInternal(code, reason)
}

// validateClose checks the arguments of a close frame we are to send.
func validateClose(code int, reason string) error {
	switch {
	case len(reason) > MaxCloseReason:
		return ErrReasonTooLong
	case !ValidCloseCode(code):
		return ErrInvalidCloseCode
	case !utf8.ValidString(reason):
		return ErrInvalidUTF8 // the peer would fail the connection
	}
	return nil
}

// closeInternal: code and reason already valid.
func (c *Conn) closeInternal(code int, reason string) error {
	if c.phase.CompareAndSwap(phConnecting, phClosing) {
		// Still dialing: cancel; the dialer reports EventConnectError.
		if f := c.cancelDial.Load(); f != nil {
			(*f)()
		}
		return nil
	}
	c.outMu.Lock()
	if !c.phase.CompareAndSwap(phOpen, phClosing) {
		c.outMu.Unlock()
		return ErrNotOpen
	}
	c.localClose = true
	c.closeCode, c.closeReason = code, reason
	c.outMu.Unlock()
	c.state.CompareAndSwap(int32(StateOpen), int32(StateClosing))
	c.startCloseTimer()
	c.signal()
	select { // a reader blocked on back-pressure now drops instead
	case c.room <- struct{}{}:
	default:
	}
	return nil
}

func (c *Conn) startCloseTimer() {
	if c.closeTimer.Load() != nil {
		return
	}
	t := time.AfterFunc(c.lim.closeTO, func() { c.fail(ErrCloseTimeout) })
	if !c.closeTimer.CompareAndSwap(nil, t) {
		t.Stop()
	}
}

// fail records why the connection ends (first reason wins) and drops it.
func (c *Conn) fail(err error) {
	c.failMu.Lock()
	if c.failErr == nil {
		c.failErr = err
	}
	c.failMu.Unlock()
	c.abort()
}

// abort closes the socket (or cancels the dial); every goroutine of the
// connection then ends promptly.
func (c *Conn) abort() {
	c.deadOnce.Do(func() { close(c.dead) })
	if f := c.cancelDial.Load(); f != nil {
		(*f)()
	}
	if cc := c.cc.Load(); cc != nil {
		_ = cc.closeConn()
	}
}

func (c *Conn) failure() error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	return c.failErr
}

// heartbeats

func (c *Conn) hbTick() {
	t := c.hbTimer.Load()
	if t == nil {
		return
	}
	select {
	case <-c.dead:
		return
	default:
	}
	now := time.Since(c.t0)
	next := c.lim.hb
	if p := c.pingAt.Load(); p != 0 {
		left := time.Duration(p) + c.lim.pongTO - now
		if left <= 0 {
			c.fail(ErrPongTimeout)
			return
		}
		next = min(next, left)
	}
	c.pingDue.Store(true)
	c.signal()
	t.Reset(next)
}

func (c *Conn) sendPing() error {
	now := time.Since(c.t0)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(now))
	c.pingAt.CompareAndSwap(0, int64(now))
	return c.writeControl(websocket.PingMessage, b[:])
}

// writeControl writes a control frame under writeMu, like every write of
// ours, so that Poll's flushDirect never waits behind one.
func (c *Conn) writeControl(mt int, data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if mt == websocket.CloseMessage {
		c.closeSent = true
	}
	return c.ws.WriteControl(mt, data, time.Now().Add(c.lim.closeTO))
}

// writeFrame writes one unfragmented data frame (writeMu held), as gorilla's
// WriteMessage would without its allocations (a message writer for each
// client message, a buffer list for each server message larger than its
// write buffer). p is our copy from Send: a client masks it as it is
// written (on the writing thread, not in Send on the caller's).
func (c *Conn) writeFrame(text bool, p []byte) error {
	if c.closeSent {
		return websocket.ErrCloseSent
	}
	var h [14]byte
	h[0] = 0x82
	if text {
		h[0] = 0x81
	}
	n := 2
	switch l := len(p); {
	case l < 126:
		h[1] = byte(l)
	case l <= 0xFFFF:
		h[1] = 126
		binary.BigEndian.PutUint16(h[2:], uint16(l))
		n = 4
	default:
		h[1] = 127
		binary.BigEndian.PutUint64(h[2:], uint64(l))
		n = 10
	}
	var key uint32
	if c.lim.client {
		key = rand.Uint32() | 1 // never 0: 0 means unmasked
		h[1] |= 0x80
		binary.LittleEndian.PutUint32(h[n:], key)
		n += 4
	}
	return c.cc.Load().writeFrame(h[:n], p, key)
}

// onPing answers a ping (gorilla's default handler, under writeMu).
func (c *Conn) onPing(data string) error {
	err := c.writeControl(websocket.PongMessage, []byte(data))
	var ne net.Error
	if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}

func (c *Conn) onPong(data string) error {
	if len(data) != 8 {
		return nil
	}
	sent := time.Duration(binary.BigEndian.Uint64([]byte(data)))
	sample := time.Since(c.t0) - sent
	if sample < 0 {
		return nil
	}
	c.pingAt.Store(0)
	old := c.rtt.Load()
	if old == 0 {
		c.rtt.Store(int64(sample))
	} else {
		c.rtt.Store(old + (int64(sample)-old)/8) // EWMA, alpha 1/8 (as TCP's SRTT)
	}
	return nil
}

// reader goroutine

// Readers read messages into pooled chunks (taken only while a message
// arrives, so idle connections hold none); each message then costs one
// allocation of its own size.
const scratchSize = 64 << 10

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, scratchSize); return &b }}

// errInflatedTooBig: a compressed message inflated past the limit (gorilla's
// read limit counts compressed bytes only).
var errInflatedTooBig = errors.New("inflated message larger than the limit")

// readChunks reads r to its end into pooled chunks and returns a copy of
// exactly the message's size (nil when empty) in a buffer from the message
// pools (buf, nil when too large for them). chunks is reused scratch. More
// than limit bytes is errInflatedTooBig.
func readChunks(r io.Reader, chunks *[]*[]byte, limit int64) (data []byte, buf *[]byte, err error) {
	cs := (*chunks)[:0]
	defer func() {
		for i, cp := range cs {
			scratchPool.Put(cp)
			cs[i] = nil
		}
		*chunks = cs[:0]
	}()
	total := 0
	for eof := false; !eof; {
		cp := scratchPool.Get().(*[]byte)
		cs = append(cs, cp)
		b := (*cp)[:0]
		for len(b) < cap(b) {
			n, err := r.Read(b[len(b):cap(b)])
			b = b[:len(b)+n]
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				return nil, nil, err
			}
		}
		*cp = b
		total += len(b)
		if int64(total) > limit {
			return nil, nil, errInflatedTooBig
		}
	}
	if total == 0 {
		return nil, nil, nil
	}
	buf = getBuf(total)
	data = *buf
	off := 0
	for _, cp := range cs {
		off += copy(data[off:], *cp)
	}
	return data, buf, nil
}

func (c *Conn) readLoop() {
	defer c.hub.wg.Done()
	defer close(c.readerDone)
	ws := c.ws
	for {
		mt, r, err := ws.NextReader()
		if err != nil {
			c.readFailed(err)
			return
		}
		// The message is read into pooled 64 KiB chunks, then copied once
		// into a buffer of its exact size.
		data, dbuf, err := readChunks(r, &c.chunks, c.lim.inBuf)
		if err == errInflatedTooBig {
			c.failWith(websocket.CloseMessageTooBig, "", ErrMessageTooBig)
			return
		}
		if err != nil {
			c.readFailed(err)
			return
		}
		text := mt == websocket.TextMessage
		if text && !utf8.Valid(data) {
			if dbuf != nil {
				putBuf(dbuf)
			}
			c.failWith(websocket.CloseInvalidFramePayloadData, "invalid UTF-8", ErrInvalidUTF8)
			return
		}
		n := int64(len(data))
		drop := false
		for {
			cnt, b := c.inCount.Load(), c.inBytes.Load()
			if cnt < c.lim.maxPk && (b == 0 || b+n <= c.lim.inBuf) {
				break
			}
			if c.phase.Load() != phOpen {
				drop = true // closing: the caller asked to stop, keep memory bounded
				break
			}
			select {
			case <-c.room:
			case <-c.dead:
				if dbuf != nil {
					putBuf(dbuf)
				}
				c.readErr = ErrAborted
				return
			}
		}
		c.msgsIn.Add(1)
		c.bytesIn.Add(n)
		if drop {
			if dbuf != nil {
				putBuf(dbuf)
			}
			continue
		}
		c.queueIn(Message{Data: data, Text: text, buf: dbuf})
	}
}

// queueIn counts a received message into the inbound queue and queues its
// event (reader goroutine, or Poll's direct read).
func (c *Conn) queueIn(m Message) {
	c.inCount.Add(1)
	c.inBytes.Add(int64(len(m.Data)))
	c.hub.push(item{kind: EventMessage, c: c, msg: m})
}

func (c *Conn) readFailed(err error) {
	var fe *frameError
	if errors.As(err, &fe) {
		// A frame to fail, found by watchConn before gorilla read it.
		c.failWith(fe.code, "", err)
		return
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
		c.peerClosed = true
		c.peerCode, c.peerReason = ce.Code, ce.Text
		if c.phase.CompareAndSwap(phOpen, phClosing) {
			c.hub.push(item{kind: EventCloseRequest, c: c, ev: &Event{
				Kind: EventCloseRequest, Conn: c, ID: c.id, Code: ce.Code, Reason: ce.Text}})
		}
		c.startCloseTimer()
		return
	}
	// watchConn fails every frame gorilla would fail with a close frame of
	// its own (written without writeMu or deadline), so these two are only
	// backstops: if gorilla did write one, ours is not written (gorilla
	// returns ErrCloseSent) but still marks closeSent.
	if errors.Is(err, websocket.ErrReadLimit) {
		c.failWith(websocket.CloseMessageTooBig, "", ErrMessageTooBig)
		return
	}
	var ne net.Error
	if ce == nil && !errors.As(err, &ne) && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		// A protocol error (or a corrupt compressed message).
		c.failWith(websocket.CloseProtocolError, "", err)
		return
	}
	if f := c.failure(); f != nil {
		err = f
	}
	c.readErr = err
}

// failWith fails the connection from the reader goroutine: our close frame
// with code and reason (under writeMu, like every write, and bounded by the
// close timer, started first: a peer that does not read cannot hold the
// reader), then linger. err is what EventDisconnected reports.
func (c *Conn) failWith(code int, reason string, err error) {
	c.phase.Store(phClosing)
	c.startCloseTimer()
	_ = c.writeControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason))
	c.readErr = err
	c.linger()
}

// linger runs after we failed the connection with a close frame: it reads and
// discards until the peer closes (or a short timeout), so closing our socket
// does not reset the connection before the peer has read our close frame.
func (c *Conn) linger() {
	c.lingering.Store(true)
	c.startCloseTimer()
	nc := c.ws.NetConn()
	// Our close frame is out: send FIN so the peer ends too, and drain what
	// it still sends (closing with unread data would reset the connection
	// and could destroy the close frame before the peer reads it).
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		c.writeMu.Lock()
		_ = cw.CloseWrite()
		c.writeMu.Unlock()
	}
	_ = nc.SetReadDeadline(time.Now().Add(min(c.lim.closeTO, 2*time.Second)))
	_, _ = io.Copy(io.Discard, nc)
}

// writer goroutine: owns the connection's end.

func (c *Conn) writeLoop() {
	defer c.hub.wg.Done()
	var (
		err          error
		sentClose    bool
		readerExited bool
		readerDone   = c.readerDone
	)
	for {
		if !sentClose {
			if err = c.flushOut(); err != nil {
				break
			}
			if c.pingDue.Swap(false) {
				if err = c.sendPing(); err != nil {
					break
				}
			}
		}
		if readerExited {
			if c.peerClosed && !sentClose {
				var payload []byte
				if c.peerCode != websocket.CloseNoStatusReceived {
					payload = websocket.FormatCloseMessage(c.peerCode, "")
				}
				err = c.writeControl(websocket.CloseMessage, payload)
				sentClose = err == nil
			}
			break
		}
		if !sentClose {
			c.outMu.Lock()
			local, code, reason := c.localClose, c.closeCode, c.closeReason
			c.outMu.Unlock()
			if local {
				if err = c.flushOut(); err != nil {
					break
				}
				if err = c.writeControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason)); err != nil {
					break
				}
				sentClose = true
			}
		}
		select {
		case <-c.wake:
		case <-readerDone:
			readerExited = true
			readerDone = nil
		case <-c.dead:
			if err = c.failure(); err == nil {
				err = ErrAborted
			}
		}
		if err != nil {
			break
		}
	}
	c.finish(err, sentClose)
}

// flushOut writes every queued message (and whatever flushDirect left
// unwritten), batching them into as few socket writes as possible.
func (c *Conn) flushOut() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	cc := c.cc.Load()
	for {
		q := c.takeOut()
		cc.beginBatch()
		err := c.writeMessages(q)
		if e := cc.endBatch(); err == nil {
			err = e
		}
		if err != nil || len(q) == 0 {
			return err
		}
	}
}

// takeOut swaps the outbound queue for the spare one (writeMu held).
func (c *Conn) takeOut() []outMsg {
	c.outMu.Lock()
	q := c.outQ
	c.outQ = c.wspare
	c.outMu.Unlock()
	c.wspare = nil
	return q
}

// writeMessages writes q's messages inside a batch (writeFrame, or gorilla's
// writer with TLS or compression), frees them and keeps q as the spare queue
// (writeMu held).
func (c *Conn) writeMessages(q []outMsg) error {
	var err error
	for i := range q {
		m := q[i]
		n := int64(len(*m.b))
		if err == nil {
			switch {
			case c.ownFrames:
				err = c.writeFrame(m.text, *m.b)
			case m.text:
				err = c.ws.WriteMessage(websocket.TextMessage, *m.b)
			default:
				err = c.ws.WriteMessage(websocket.BinaryMessage, *m.b)
			}
			if err == nil {
				c.msgsOut.Add(1)
				c.bytesOut.Add(n)
			}
		}
		c.outBytes.Add(-n)
		c.outCount.Add(-1)
		putBuf(m.b)
		q[i] = outMsg{}
	}
	c.wspare = q[:0]
	return err
}

// Direct flushes are for small amounts: what fits one batch buffer without
// a blocking write. More than that is the writer goroutine's job.
const (
	directMaxBytes = 16 << 10
	directMaxCount = 256
)

// flushDirect writes the queued messages from the caller thread (Poll) with
// one non-blocking write, when the writer goroutine is not writing. Waking
// the writer goroutine from a thread that keeps running (a game loop) costs
// tens of microseconds of scheduling latency; writing here costs one
// syscall. What the socket does not take, the writer finishes.
func (c *Conn) flushDirect() {
	c.dirty = false
	cc := c.cc.Load()
	if cc == nil || cc.raw == nil || c.outBytes.Load() > directMaxBytes || c.outCount.Load() > directMaxCount ||
		!c.writeMu.TryLock() {
		return // the writer goroutine (already signalled by Send) does it
	}
	defer c.writeMu.Unlock()
	if cc.pending() {
		c.signal() // the socket is full: the writer waits for it, not us
		return
	}
	q := c.takeOut()
	if len(q) == 0 {
		c.wspare = q
		return
	}
	cc.beginBatchTry()
	err := c.writeMessages(q)
	pending, e := cc.endBatchTry()
	if pending || err != nil || e != nil {
		c.signal() // the writer writes the rest, or notices the error
	}
}

// peerGone reports a write error that says the peer's end of the socket is
// gone (a peer killed or crashed: our write met its reset). What it sent
// before is still in our receive buffer, followed by its FIN or reset.
func peerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// drain waits for the reader to take what the peer sent before it went away
// (it then meets the end of the stream at once) before the socket is closed:
// a failed write, typically a heartbeat ping, must not throw away messages
// that had already arrived. A reader held back by a caller that does not read
// (back-pressure) is waited for at most CloseTimeout.
func (c *Conn) drain() {
	if t := c.hbTimer.Load(); t != nil {
		t.Stop() // no pong can come now: this is not a pong timeout
	}
	t := time.NewTimer(c.lim.closeTO)
	defer t.Stop()
	select {
	case <-c.readerDone:
	case <-c.dead:
	case <-t.C:
	}
}

func (c *Conn) finish(err error, sentClose bool) {
	if c.lingering.Load() {
		<-c.readerDone
	}
	if peerGone(err) {
		c.drain()
	}
	c.abort()
	<-c.readerDone
	if t := c.closeTimer.Load(); t != nil {
		t.Stop()
	}
	if t := c.hbTimer.Load(); t != nil {
		t.Stop()
	}
	// Drop what was never sent.
	c.outMu.Lock()
	for i, m := range c.outQ {
		c.outBytes.Add(-int64(len(*m.b)))
		c.outCount.Add(-1)
		putBuf(m.b)
		c.outQ[i] = outMsg{}
	}
	c.outQ = c.outQ[:0]
	c.outMu.Unlock()

	ev := &Event{Kind: EventDisconnected, Conn: c, ID: c.id, Code: -1}
	if sentClose && c.peerClosed {
		ev.Clean = true
		ev.Code, ev.Reason = c.peerCode, c.peerReason
	} else {
		switch {
		case c.readErr != nil && c.readErr != ErrAborted:
			ev.Err = c.readErr
		case c.failure() != nil:
			ev.Err = c.failure()
		case err != nil:
			ev.Err = err
		default:
			ev.Err = ErrAborted
		}
	}
	c.hub.unregister(c)
	if c.srv != nil {
		c.srv.active.Add(-1)
	}
	c.hub.push(item{kind: EventDisconnected, c: c, ev: ev})
	close(c.finished)
}
