package peer

import (
	"errors"
	"syscall"
	"time"
)

// The end of a connection: failure, abort, teardown and its last event.

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
	for i := range c.outQ {
		c.outBytes.Add(-int64(len(c.outQ[i].data())))
		c.outCount.Add(-1)
		c.outQ[i].free()
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
