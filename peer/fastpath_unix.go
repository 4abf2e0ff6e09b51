//go:build unix

package peer

import (
	"errors"
	"net"
	"syscall"
)

// On Unix, Poll writes to sockets itself (one write(2) on the non-blocking
// socket; see flushDirect).
func init() {
	newTryWriter = func(nc net.Conn) tryWriter {
		if sc, ok := nc.(syscall.Conn); ok {
			if raw, err := sc.SyscallConn(); err == nil {
				return newRawTryWriter(raw)
			}
		}
		return nil
	}
}

// rawTryWriter writes through a syscall.RawConn (a net.TCPConn's, or on
// Linux a fastpath.Socket's), one attempt, never waiting for the socket.
type rawTryWriter struct {
	raw syscall.RawConn
	f   func(fd uintptr) bool // made once: no allocation per write
	b   []byte
	n   int
	err error
}

func newRawTryWriter(raw syscall.RawConn) *rawTryWriter {
	w := &rawTryWriter{raw: raw}
	w.f = func(fd uintptr) bool {
		w.n, w.err = syscall.Write(int(fd), w.b)
		return true // one attempt, never wait for the socket
	}
	return w
}

// tryWrite (under countingConn.mu).
func (w *rawTryWriter) tryWrite(b []byte) (int, error) {
	w.b, w.n, w.err = b, 0, nil
	if err := w.raw.Write(w.f); err != nil {
		w.err = err
	}
	w.b = nil
	n, err := w.n, w.err
	if n < 0 {
		n = 0
	}
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
		err = nil
	}
	return n, err
}
