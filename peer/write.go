package peer

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The send path: Send, the writer goroutine, Poll's direct flush, frames.

// outMsg is one queued outbound message: its own pooled buffer b, or sh,
// one buffer Broadcast shares between the queues of every peer.
type outMsg struct {
	b    *[]byte
	sh   *sharedBuf
	text bool
}

func (m *outMsg) data() []byte {
	if m.sh != nil {
		return *m.sh.b
	}
	return *m.b
}

// free returns the message's buffer (its reference to a shared one).
func (m *outMsg) free() {
	if m.sh != nil {
		m.sh.release()
	} else {
		putBuf(m.b)
	}
	*m = outMsg{}
}

// sharedBuf is one message queued to many connections (Broadcast): a pooled
// buffer that goes back to its pool when the last connection has written or
// dropped it.
type sharedBuf struct {
	b    *[]byte
	refs atomic.Int32
}

var sharedPool = sync.Pool{New: func() any { return new(sharedBuf) }}

func (s *sharedBuf) release() {
	if s.refs.Add(-1) == 0 {
		putBuf(s.b)
		s.b = nil
		sharedPool.Put(s)
	}
}

// Send queues one message (a text message must be valid UTF-8). It copies
// data and never blocks; the next Poll, or the connection's writer
// goroutine, writes it. Errors: ErrNotOpen (not StateOpen), ErrOutboundFull
// (past Options.OutboundBufferSize or MaxQueuedPackets; try again after a
// Poll), ErrTooLarge (larger than OutboundBufferSize), ErrInvalidUTF8,
// ErrInvalidArgument (mode). Caller goroutine.
func (c *Conn) Send(data []byte, mode WriteMode) error {
	if err := c.sendable(); err != nil {
		return err
	}
	if err := checkMode(data, mode); err != nil {
		return err
	}
	n := int64(len(data))
	if err := c.outRoom(n); err != nil {
		return err
	}
	b := getBuf(len(data))
	copy(*b, data)
	c.enqueue(outMsg{b: b, text: mode == WriteText}, n, true)
	return nil
}

// sendable reports whether Send may queue now (caller goroutine).
func (c *Conn) sendable() error {
	if c.state.Load() != int32(StateOpen) || c.phase.Load() != phOpen {
		return ErrNotOpen
	}
	return nil
}

// checkMode checks a message's mode (and a text message's UTF-8).
func checkMode(data []byte, mode WriteMode) error {
	switch mode {
	case WriteText:
		if !utf8.Valid(data) {
			return ErrInvalidUTF8
		}
	case WriteBinary:
	default:
		return ErrInvalidArgument
	}
	return nil
}

// outRoom reports whether a message of n bytes may be queued (caller goroutine).
func (c *Conn) outRoom(n int64) error {
	if n > c.lim.outBuf {
		return ErrTooLarge
	}
	// Only this (caller) thread adds; the writer only subtracts.
	if c.outCount.Load() >= c.lim.maxPk || c.outBytes.Load()+n > c.lim.outBuf {
		return ErrOutboundFull
	}
	return nil
}

// enqueue queues m, n bytes, for writing (caller goroutine). lateWake false:
// the caller hands the connection to the hub's flusher itself right after
// (Broadcast), so the waker need not wake its writer.
func (c *Conn) enqueue(m outMsg, n int64, lateWake bool) {
	c.outBytes.Add(n)
	c.outCount.Add(1)
	c.outMu.Lock()
	wasEmpty := len(c.outQ) == 0
	c.outQ = append(c.outQ, m)
	c.outMu.Unlock()
	// The next Poll writes small amounts directly; the waker wakes the
	// writer goroutine if no Poll comes soon (see waker). Where Poll cannot
	// write, or there is more than it writes, the writer is woken at once.
	direct := c.cc.Load().tw != nil
	if direct && !c.dirty {
		c.dirty = true
		c.hub.dirty = append(c.hub.dirty, c)
	}
	switch {
	case wasEmpty && direct:
		if lateWake {
			c.hub.wakeWriter(c)
		}
	case wasEmpty, c.outBytes.Load() > directMaxBytes, c.outCount.Load() > directMaxCount:
		c.signal()
	}
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
func (c *Conn) takeOut() []outMsg { return swapOut(&c.outMu, &c.outQ, &c.wspare) }

// writeMessages writes q's messages inside a batch (writeFrame, or gorilla's
// writer with TLS or compression), frees them and keeps q as the spare queue
// (writeMu held).
func (c *Conn) writeMessages(q []outMsg) error {
	var err error
	for i := range q {
		m := &q[i]
		data := m.data()
		n := int64(len(data))
		if err == nil {
			switch {
			case c.ownFrames:
				err = c.writeFrame(m.text, data)
			case m.text:
				err = c.ws.WriteMessage(websocket.TextMessage, data)
			default:
				err = c.ws.WriteMessage(websocket.BinaryMessage, data)
			}
			if err == nil {
				c.msgsOut.Add(1)
				c.bytesOut.Add(n)
			}
		}
		c.outBytes.Add(-n)
		c.outCount.Add(-1)
		m.free()
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
	c.tryFlush(true)
}

// tryFlush is flushDirect's write, on the caller's thread (poll: counted
// in directOut) or the hub's flusher goroutine (hub.handOff). It reports false when another goroutine
// held writeMu, so nothing was written: on the caller's thread the waker
// armed by Send covers that; the flusher signals the writer itself.
func (c *Conn) tryFlush(poll bool) bool {
	cc := c.cc.Load()
	if cc == nil || cc.tw == nil || c.outBytes.Load() > directMaxBytes || c.outCount.Load() > directMaxCount {
		return true // the writer goroutine (already signalled by Send) does it
	}
	if !c.writeMu.TryLock() {
		return false
	}
	defer c.writeMu.Unlock()
	if cc.pending() {
		c.signal() // the socket is full: the writer waits for it, not us
		return true
	}
	q := c.takeOut()
	if len(q) == 0 {
		c.wspare = q
		return true
	}
	cc.beginBatchTry()
	n := len(q)
	err := c.writeMessages(q)
	pending, e := cc.endBatchTry()
	if pending || err != nil || e != nil {
		c.signal() // the writer writes the rest, or notices the error
	} else if poll {
		c.directOut.Add(int64(n))
	}
	return true
}
