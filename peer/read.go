package peer

import (
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The receive path: the reader goroutine, and the caller's readable queue.

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
	c.taken++
	if c.rqHead == len(c.rq) {
		c.rq = c.rq[:0]
		c.rqHead = 0
	}
	c.inBytes.Add(-int64(len(m.Data)))
	c.inCount.Add(-1)
	if c.roomWait.Load() { // the reader waits for room (a channel send per message costs the caller's thread)
		select {
		case c.room <- struct{}{}:
		default:
		}
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
	c.delivered++
}

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
			if !c.roomWait.Load() {
				// Announce the wait, then check again before sleeping: a
				// pop from here on signals room (one before saw no waiter,
				// and the check sees what it freed).
				c.roomWait.Store(true)
				continue
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
		if c.roomWait.Load() {
			c.roomWait.Store(false)
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
