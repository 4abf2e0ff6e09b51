package peer

import (
	"errors"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The close handshake, and failing a connection with a close frame.

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
