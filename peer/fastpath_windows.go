//go:build windows

package peer

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The Windows fast path: Poll's writes. Windows has no non-blocking send on
// a socket that Go's overlapped I/O also uses (made non-blocking with
// FIONBIO, Go's own overlapped WSARecv failed with WSAEWOULDBLOCK under
// wine: a test connection died of it). So Poll's write is an overlapped
// WSASend of its own, which never waits: it completes at once, or stays in
// flight with its own copy of the bytes and its own OVERLAPPED (sends on a
// socket complete in the order they were made, so what the writer goroutine
// writes next still follows it). The low bit set in its event handle keeps
// its completion out of Go's IOCP port. While one is in flight, Poll writes
// nothing more and leaves it to the writer goroutine.
//
// Poll does not read on Windows: see the README (Performance, Windows under
// wine) for the direct read that was tried and why it is not used.
func init() {
	newTryWriter = func(nc net.Conn) tryWriter {
		if sc, ok := nc.(syscall.Conn); ok {
			if raw, err := sc.SyscallConn(); err == nil {
				w := &winTryWriter{raw: raw}
				w.f = w.send
				return w
			}
		}
		return nil
	}
}

// statusPending is an OVERLAPPED's Internal while its operation runs.
const statusPending = 0x103

// winSendOp is one overlapped send: the OVERLAPPED and the bytes belong to
// the system until it completes.
type winSendOp struct {
	ov  syscall.Overlapped
	buf []byte
}

func (o *winSendOp) done() bool {
	return atomic.LoadUintptr(&o.ov.Internal) != statusPending
}

// winTryWriter is Poll's write on Windows (under countingConn.mu).
type winTryWriter struct {
	raw    syscall.RawConn
	ev     syscall.Handle // manual-reset event for the sends (0: not made yet)
	op     *winSendOp     // in flight, or nil
	spare  *winSendOp
	closed bool
	pends  atomic.Int64 // sends left in flight (tests)
	f      func(fd uintptr)
	cur    *winSendOp // f's operation
	sent   uint32
	err    error
}

var procCreateEventW = syscall.NewLazyDLL("kernel32.dll").NewProc("CreateEventW")

// leaked keeps the sends that had not completed long after their socket was
// closed: the system may still write to them.
var (
	leakedMu sync.Mutex
	leaked   []*winSendOp
)

func (w *winTryWriter) send(fd uintptr) {
	buf := syscall.WSABuf{Len: uint32(len(w.cur.buf)), Buf: unsafe.SliceData(w.cur.buf)}
	w.sent = 0
	w.err = syscall.WSASend(syscall.Handle(fd), &buf, 1, &w.sent, 0, &w.cur.ov, nil)
}

func (w *winTryWriter) tryWrite(b []byte) (int, error) {
	if w.closed {
		return 0, net.ErrClosed
	}
	if len(b) == 0 {
		return 0, nil
	}
	if op := w.op; op != nil {
		if !op.done() {
			return 0, nil // the last one is still in flight: the writer writes
		}
		w.op, w.spare = nil, op
		if st := atomic.LoadUintptr(&op.ov.Internal); st != 0 {
			return 0, fmt.Errorf("overlapped send: NTSTATUS %#x", st)
		}
	}
	if w.ev == 0 {
		ev, _, _ := procCreateEventW.Call(0, 1, 0, 0) // manual reset, not signalled
		if ev == 0 {
			return 0, nil // the writer writes
		}
		w.ev = syscall.Handle(ev)
	}
	op := w.spare
	if op == nil {
		op = new(winSendOp)
	}
	w.spare = nil
	op.buf = append(op.buf[:0], b...)
	op.ov = syscall.Overlapped{HEvent: w.ev | 1} // low bit: no completion packet to Go's port
	w.cur = op
	cerr := w.raw.Control(w.f)
	w.cur = nil
	switch {
	case cerr != nil:
		w.spare = op
		return 0, cerr
	case w.err == nil: // sent at once, all of it (an overlapped send on a stream
		// socket completes whole or fails; its byte count argument is not
		// to be trusted with an OVERLAPPED, and under wine it was 0)
		w.spare = op
		return len(b), nil
	case w.err == syscall.ERROR_IO_PENDING: // in flight, ahead of any later send
		w.op = op
		w.pends.Add(1)
		return len(b), nil
	default:
		w.spare = op
		return 0, w.err
	}
}

// detach ends Poll's writes (countingConn.closeWriter, under its mu) and
// returns the wait for a send still in flight.
func (w *winTryWriter) detach() func() {
	w.closed = true
	op, ev := w.op, w.ev
	w.op, w.ev = nil, 0
	return func() {
		// The socket is closed: a send in flight completes (or is
		// aborted) shortly.
		for i := 0; op != nil && !op.done(); i++ {
			if i == 5000 {
				leakedMu.Lock()
				leaked = append(leaked, op) // never reuse what the system may still write
				leakedMu.Unlock()
				return // and keep ev open
			}
			time.Sleep(time.Millisecond)
		}
		if ev != 0 {
			_ = syscall.CloseHandle(ev)
		}
	}
}
