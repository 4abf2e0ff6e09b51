//go:build windows

package peer

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The Windows fast path: Poll's reads. Go's sockets are overlapped and
// served by its IOCP poller. While a connection's reader goroutine waits at
// a frame boundary (Park), it waits with a zero-byte overlapped WSARecv
// (syscall.RawConn.Read), which consumes nothing. Poll, in hubs of at most
// winDirectConns connections, asks each parked socket how much it holds
// (FIONREAD); where there is data it peeks at it (MSG_PEEK, at most that
// much: a recv of bytes already there does not wait), takes the complete
// plain data frames at its head and then consumes exactly those bytes. What
// it does not take stays in the socket for the reader, so nothing is handed
// over and the byte stream the reader sees is the socket's own. When the
// zero-byte read completes (data came), the reader waits for Poll to take
// the data, to leave it to it (wake), or to stop polling (winGrace without
// a Poll: then the reader reads, as it must for pings, closes and
// back-pressure when the game does not poll).
//
// Unlike Linux (where the socket leaves Go's poller), each arrival still
// wakes the parked reader goroutine on another thread; what the direct read
// saves is the game thread's wait for that goroutine.
//
// Poll's writes (winTryWriter): Windows has no non-blocking send on a
// socket that Go's overlapped I/O also uses (made non-blocking with FIONBIO,
// Go's own overlapped WSARecv failed with WSAEWOULDBLOCK under wine: a test
// connection died of it). So Poll's write is an overlapped WSASend of its
// own, which never waits: it completes at once, or stays in flight with its
// own copy of the bytes and its own OVERLAPPED (sends on a socket complete
// in the order they were made, so what the writer goroutine writes next
// still follows it). The low bit set in its event handle keeps its
// completion out of Go's IOCP port. While one is in flight, Poll writes
// nothing more and leaves it to the writer goroutine.
func init() {
	newHubPath = func() hubPath { return &windowsPath{} }
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
	case w.err == nil: // sent at once
		w.spare = op
		return min(int(w.sent), len(b)), nil
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

const (
	fionread = 0x4004667f
	msgPeek  = 0x2
	// Poll reads directly only in hubs of at most this many connections: a
	// FIONREAD per parked connection per Poll (no readiness set as on Linux).
	winDirectConns = 8
	// A reader whose socket has data waits this long for a Poll before it
	// reads the data itself.
	winGrace = 2 * time.Millisecond
	// The most Poll peeks from one socket per call; the rest is the reader's.
	winReadMax = 64 << 10
)

// available is FIONREAD: the bytes the socket holds.
func available(fd uintptr) (int, error) {
	var n, ret uint32
	err := syscall.WSAIoctl(syscall.Handle(fd), fionread, nil, 0, (*byte)(unsafe.Pointer(&n)), 4, &ret, nil, 0)
	return int(n), err
}

// recvNow is one synchronous recv (flags: 0 or msgPeek) of at most what
// available reported, so it does not wait.
func recvNow(fd uintptr, b []byte, flags uint32) (int, error) {
	var got uint32
	buf := syscall.WSABuf{Len: uint32(len(b)), Buf: unsafe.SliceData(b)}
	err := syscall.WSARecv(syscall.Handle(fd), &buf, 1, &got, &flags, nil, nil)
	return int(got), err
}

// windowsPath is a hub's fast path: its connections whose reads Poll may do.
type windowsPath struct {
	mu      sync.Mutex // readers; held by Poll while it reads
	readers []*winReader
	serving atomic.Bool   // len(readers) <= winDirectConns: Poll reads
	polls   atomic.Uint64 // Poll calls
	buf     []byte        // caller goroutine: Poll's scratch
	msgs    []Message
}

// readerOf is c's read side shared with Poll (nil when Poll does not read
// c's socket).
func readerOf(c *Conn) *winReader {
	r, _ := c.fp.(*winReader)
	return r
}

func (p *windowsPath) adopt(c *Conn, cc *countingConn, wc *watchConn) connPath {
	sc, ok := cc.Conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &winReader{c: c, p: p, raw: raw, server: !wc.client, kickCh: make(chan struct{}, 1)}
	r.owner.Store(ownReader)
	r.waitCB = func(fd uintptr) bool {
		if !r.first {
			return true // the zero-byte read completed: data, the end or an error
		}
		r.first = false
		n, err := available(fd)
		return r.kick.Load() || n > 0 || err != nil
	}
	r.availCB = func(fd uintptr) { r.pn, r.perr = available(fd) }
	r.pollCB = func(fd uintptr) { r.pn, r.perr = recvNow(fd, r.pbuf, r.pflags) }
	return r
}

func (p *windowsPath) add(_ *hub, c *Conn) {
	if r := readerOf(c); r != nil {
		p.mu.Lock()
		p.readers = append(p.readers, r)
		p.serving.Store(len(p.readers) <= winDirectConns)
		p.mu.Unlock()
	}
}

func (p *windowsPath) remove(_ *hub, c *Conn) {
	if r := readerOf(c); r != nil {
		p.mu.Lock()
		for i, x := range p.readers {
			if x == r {
				last := len(p.readers) - 1
				p.readers[i] = p.readers[last]
				p.readers[last] = nil
				p.readers = p.readers[:last]
				break
			}
		}
		p.serving.Store(len(p.readers) <= winDirectConns)
		p.mu.Unlock()
		r.wake() // a reader waiting for Poll reads on its own now
	}
}

// readAll is Poll's reads: one peek per parked connection, in small hubs.
func (p *windowsPath) readAll(*hub) {
	p.polls.Add(1)
	if !p.serving.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buf == nil && len(p.readers) > 0 {
		p.buf = make([]byte, winReadMax)
	}
	for _, r := range p.readers {
		r.read(p)
	}
}

func (p *windowsPath) close(*hub) {}

// The read side's owner (winReader.owner).
const (
	ownReader int32 = iota // the reader goroutine reads (and may block)
	ownFree                // the reader waits at a frame boundary: Poll may read
	ownPoll                // Poll reads
)

// winParkHook, when set (tests), runs when a parked reader's wait for data
// ends: a late reader lets Poll take a good share of the data.
var winParkHook func()

// winReader is a connection's read side shared with Poll (a plain TCP
// socket right under the WebSocket's frame reader: no TLS).
type winReader struct {
	c      *Conn
	p      *windowsPath
	raw    syscall.RawConn
	server bool // frames from the peer must be masked

	owner  atomic.Int32
	takes  atomic.Uint64 // times Poll consumed bytes
	kick   atomic.Bool   // Poll left the socket's data to the reader
	kickCh chan struct{} // wakes a reader waiting for Poll
	kicks  atomic.Int64  // times Poll left data to the reader (tests)

	first  bool                  // reader: waitCB's first call of a wait
	waitCB func(fd uintptr) bool // reader: false to wait with a zero-byte read
	timer  *time.Timer

	availCB func(fd uintptr) // pn, perr of available (reader or Poll, under their side)
	pollCB  func(fd uintptr) // Poll: pn, perr of a recv of pbuf with pflags
	pbuf    []byte
	pflags  uint32
	pn      int
	perr    error
	amu     sync.Mutex // availCB's results: the reader's waitPoll and Poll both ask
}

func (r *winReader) open() bool { return r.c.phase.Load() == phOpen }

// avail is FIONREAD on the socket (any goroutine).
func (r *winReader) avail() (int, error) {
	r.amu.Lock()
	defer r.amu.Unlock()
	r.pn, r.perr = 0, nil
	if err := r.raw.Control(r.availCB); err != nil {
		return 0, err
	}
	return r.pn, r.perr
}

// Park is the reader goroutine's wait for data at a frame boundary (from
// watchConn.Read): meanwhile Poll may take complete frames itself. It
// returns owning the read side with data (or the end, or an error) in the
// socket, or with the socket to be read as usual.
func (r *winReader) Park() {
	if !r.open() || !r.p.serving.Load() {
		return
	}
	r.owner.Store(ownFree)
	for {
		g := r.takes.Load()
		r.first = true
		err := r.raw.Read(r.waitCB) // a zero-byte overlapped WSARecv: consumes nothing
		if winParkHook != nil {
			winParkHook()
		}
		if err != nil || r.kick.Load() || !r.open() || !r.p.serving.Load() {
			r.claim()
			return
		}
		n, err := r.avail()
		if err == nil && n == 0 {
			if r.takes.Load() != g {
				continue // Poll took what came
			}
			r.claim() // the end or an error: the reader finds it
			return
		}
		if err != nil || r.waitPoll() {
			r.claim()
			return
		}
	}
}

// waitPoll: data is in the socket. It waits while Poll takes it, and
// reports whether the reader is to read it: Poll left it (kick), nobody
// polled for winGrace, or the connection is no longer Poll's. false: the
// socket is empty again, wait for more.
func (r *winReader) waitPoll() bool {
	if r.timer == nil {
		r.timer = time.NewTimer(winGrace)
	} else {
		r.timer.Reset(winGrace)
	}
	defer r.timer.Stop()
	g := r.p.polls.Load()
	for {
		select {
		case <-r.kickCh:
		case <-r.timer.C:
			if r.p.polls.Load() == g {
				return true // nobody polls: the reader reads
			}
			g = r.p.polls.Load()
			r.timer.Reset(winGrace)
		case <-r.c.dead:
			return true
		}
		if r.kick.Load() || !r.open() || !r.p.serving.Load() {
			return true
		}
		if n, err := r.avail(); err != nil || n == 0 {
			return err != nil // empty: Poll took it
		}
	}
}

// claim takes the read side back from Poll (reader goroutine).
func (r *winReader) claim() {
	for i := 0; !r.owner.CompareAndSwap(ownFree, ownReader); i++ {
		if i < 20 {
			runtime.Gosched() // Poll's turn takes microseconds
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
	r.kick.Store(false)
	select {
	case <-r.kickCh:
	default:
	}
}

// wake leaves the socket's data to the reader goroutine (Poll).
func (r *winReader) wake() {
	r.kicks.Add(1)
	r.kick.Store(true)
	select {
	case r.kickCh <- struct{}{}:
	default:
	}
}

// recv is one recv of b on the caller's thread (Control, not Read: the
// parked reader holds the socket's read lock while it waits; the owner
// word is what serializes the reads).
func (r *winReader) recv(b []byte, flags uint32) (int, error) {
	r.pbuf, r.pflags, r.pn, r.perr = b, flags, 0, nil
	err := r.raw.Control(r.pollCB)
	r.pbuf = nil
	if err != nil {
		return 0, err
	}
	return r.pn, r.perr
}

// read is Poll's read of one parked connection: the complete plain data
// frames at the head of the socket become messages, queued as the reader
// would queue them, and only their bytes leave the socket.
func (r *winReader) read(p *windowsPath) {
	if r.kick.Load() || !r.open() || !r.owner.CompareAndSwap(ownFree, ownPoll) {
		return
	}
	defer r.owner.Store(ownFree)
	avail, err := r.avail()
	if err != nil {
		r.wake() // the reader finds the error
		return
	}
	if avail == 0 {
		return // nothing there (or the end, which the reader finds)
	}
	r.amu.Lock() // pn, perr
	defer r.amu.Unlock()
	n, err := r.recv(p.buf[:min(avail, len(p.buf))], msgPeek)
	if err != nil || n == 0 {
		r.wake()
		return
	}
	used := r.c.takeDirect(p.buf[:n], r.server, &p.msgs)
	for done := 0; done < used; {
		k, err := r.recv(p.buf[done:used], 0)
		if err != nil || k <= 0 {
			// The socket gave back less than it showed: the messages
			// queued span bytes still there. Never let them be read twice.
			if err == nil {
				err = errors.New("direct read: the socket returned fewer bytes than it showed")
			}
			r.c.fail(err)
			r.wake()
			return
		}
		done += k
	}
	if used > 0 {
		r.takes.Add(1)
		if cc := r.c.cc.Load(); cc != nil {
			cc.in.Add(int64(used))
		}
	}
	if used < n || n == len(p.buf) {
		r.wake() // what Poll does not take, or more than it reads, is the reader's
	}
}
