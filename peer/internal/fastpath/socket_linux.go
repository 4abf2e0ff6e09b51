//go:build linux

package fastpath

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Socket is an established plain TCP connection taken out of Go's network
// poller and watched by its hub's own epoll set instead (set_linux.go).
//
// Why: Go's poller thread sleeps in epoll_wait whenever any goroutine waits
// for the network (a listener's accept, a parked reader) or a timer is
// pending, and every byte that arrives on a socket in its set wakes it,
// about 4 µs of the sender's time per loopback write even when Poll reads
// the data itself. In the hub's own set, a socket wakes a thread only when
// someone needs it: the hub's poller goroutine watches the sockets only
// while a goroutine waits for one urgently (a frame half read, a full
// socket to write to) or while nobody calls Poll; otherwise Poll's
// non-blocking epoll_wait finds what arrived.
//
// Every system call on fd holds mu for reading (they never block); Close
// takes it for writing, so the descriptor is never closed under a call.
type Socket struct {
	fd     int
	mu     sync.RWMutex
	closed atomic.Bool
	done   chan struct{} // closed by Close

	// Readiness: the poller (or Poll) puts a token in rch/wch when the
	// socket became readable/writable and someone waits (rwait/wwait).
	rch, wch     chan struct{}
	rwait, wwait atomic.Int32 // waitNone, waitLazy, waitUrgent
	rdl, wdl     atomic.Int64 // deadlines in Unix nanoseconds, 0 for none
	rt, wt       *time.Timer  // the reader's and the writer's deadline timers

	set          atomic.Pointer[Set] // once in an epoll set
	laddr, raddr net.Addr
}

const (
	waitNone   int32 = iota
	waitLazy         // a reader parked between frames: Poll serves it while it polls
	waitUrgent       // anything else: the poller must watch the socket
)

// TakeFD moves nc's socket to a new Socket (nil when nc is not a TCP
// connection or the descriptor cannot be duplicated; nc is then untouched).
// The duplicate shares the socket and its non-blocking mode; closing nc
// takes the old descriptor out of Go's poller without shutting the socket.
func TakeFD(nc net.Conn) *Socket {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	sc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	nfd := -1
	var derr error
	if err := sc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		nfd = int(r)
	}); err != nil || derr != nil {
		return nil
	}
	if err := syscall.SetNonblock(nfd, true); err != nil {
		_ = syscall.Close(nfd)
		return nil
	}
	c := &Socket{
		fd:    nfd,
		done:  make(chan struct{}),
		rch:   make(chan struct{}, 1),
		wch:   make(chan struct{}, 1),
		laddr: tc.LocalAddr(),
		raddr: tc.RemoteAddr(),
	}
	_ = tc.Close()
	return c
}

func (c *Socket) LocalAddr() net.Addr  { return c.laddr }
func (c *Socket) RemoteAddr() net.Addr { return c.raddr }

func (c *Socket) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}

func (c *Socket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, rerr := 0, error(nil)
	err := c.wait(false, waitUrgent, func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr != syscall.EINTR {
				return rerr != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil:
	case rerr != nil:
		err = os.NewSyscallError("read", rerr)
	case n == 0:
		return 0, io.EOF
	default:
		return n, nil
	}
	return 0, c.opErr("read", err)
}

func (c *Socket) Write(p []byte) (int, error) {
	done, werr := 0, error(nil)
	err := c.wait(true, waitUrgent, func(fd uintptr) bool {
		for done < len(p) {
			n, e := sendNoSignal(fd, p[done:])
			if n > 0 {
				done += n
			}
			switch e {
			case nil, syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				werr = e
				return true
			}
		}
		return true
	})
	if err == nil && werr != nil {
		err = os.NewSyscallError("write", werr)
	}
	if err != nil {
		return done, c.opErr("write", err)
	}
	return done, nil
}

// call runs f on the descriptor unless the connection is closed.
func (c *Socket) call(f func(fd uintptr) bool) (done bool, err error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed.Load() {
		return false, net.ErrClosed
	}
	return f(uintptr(c.fd)), nil
}

// wait runs f (one or more non-blocking system calls) until it reports
// done, waiting for the socket to become readable (or writable) in between.
// The waiter is published (rwait/wwait: how) only once f found nothing to
// do, then f runs once more, so a readiness token is never lost.
func (c *Socket) wait(write bool, how int32, f func(fd uintptr) bool) error {
	ch, flag, dl, tp := c.rch, &c.rwait, &c.rdl, &c.rt
	if write {
		ch, flag, dl, tp = c.wch, &c.wwait, &c.wdl, &c.wt
	}
	published := false
	defer func() {
		if published {
			flag.Store(waitNone)
		}
	}()
	for {
		if done, err := c.call(f); done || err != nil {
			return err
		}
		if !published {
			published = true
			flag.Store(how)
			continue
		}
		if err := c.await(ch, dl, tp, how == waitUrgent); err != nil {
			return err
		}
	}
}

// sendNoSignal is one send(2) with MSG_NOSIGNAL: a peer that is gone gives
// EPIPE, never a SIGPIPE (which a host program may not ignore).
func sendNoSignal(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r, _, e := syscall.Syscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// await blocks until a readiness token comes on ch, the deadline passes or
// the connection is closed. An urgent wait makes the poller watch the
// sockets meanwhile.
func (c *Socket) await(ch chan struct{}, dl *atomic.Int64, tp **time.Timer, urgent bool) error {
	d := c.set.Load()
	if d == nil {
		return c.awaitAlone(ch, dl, urgent)
	}
	if urgent {
		d.urgentAdd(1)
		defer d.urgentAdd(-1)
	}
	var tc <-chan time.Time
	if t := dl.Load(); t != 0 {
		left := time.Duration(t - time.Now().UnixNano())
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		if *tp == nil {
			*tp = time.NewTimer(left)
		} else {
			(*tp).Reset(left)
		}
		tc = (*tp).C
		defer (*tp).Stop()
	}
	select {
	case <-ch:
		return nil
	case <-c.done:
		return net.ErrClosed
	case <-tc:
		return os.ErrDeadlineExceeded
	}
}

// awaitAlone waits without a poller (a socket not in an epoll set yet, or
// whose set could not be made): poll(2) in short slices.
func (c *Socket) awaitAlone(ch chan struct{}, dl *atomic.Int64, urgent bool) error {
	ev := int16(0x1 | 0x2000) // POLLIN | POLLRDHUP
	if ch == c.wch {
		ev = 0x4 // POLLOUT
	}
	for {
		select {
		case <-ch:
			return nil
		case <-c.done:
			return net.ErrClosed
		default:
		}
		if t := dl.Load(); t != 0 && time.Now().UnixNano() >= t {
			return os.ErrDeadlineExceeded
		}
		c.mu.RLock()
		if c.closed.Load() {
			c.mu.RUnlock()
			return net.ErrClosed
		}
		pfd := struct {
			fd             int32
			events, revent int16
		}{int32(c.fd), ev, 0}
		n, _, _ := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&pfd)), 1, 10)
		c.mu.RUnlock()
		if n == 1 {
			return nil
		}
	}
}

func setDeadline(dl *atomic.Int64, ch chan struct{}, t time.Time) {
	v := int64(0)
	if !t.IsZero() {
		v = t.UnixNano()
		if v <= 0 {
			v = 1
		}
	}
	dl.Store(v)
	select { // a waiter looks at the new deadline
	case ch <- struct{}{}:
	default:
	}
}

func (c *Socket) SetReadDeadline(t time.Time) error {
	setDeadline(&c.rdl, c.rch, t)
	return nil
}

func (c *Socket) SetWriteDeadline(t time.Time) error {
	setDeadline(&c.wdl, c.wch, t)
	return nil
}

func (c *Socket) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// Close closes the socket (the kernel takes it out of the epoll set) and
// ends every wait.
func (c *Socket) Close() error {
	if c.closed.Swap(true) {
		return c.opErr("close", net.ErrClosed)
	}
	close(c.done)
	c.mu.Lock()
	err := syscall.Close(c.fd)
	c.mu.Unlock()
	if err != nil {
		return c.opErr("close", os.NewSyscallError("close", err))
	}
	return nil
}

// CloseWrite sends FIN after what was written.
func (c *Socket) CloseWrite() error {
	var err error
	if cerr := (fdRaw{c}).Control(func(fd uintptr) { err = syscall.Shutdown(int(fd), syscall.SHUT_WR) }); cerr != nil {
		return c.opErr("shutdown", cerr)
	}
	if err != nil {
		return c.opErr("shutdown", os.NewSyscallError("shutdown", err))
	}
	return nil
}

func (c *Socket) SetNoDelay(on bool) error {
	v := 0
	if on {
		v = 1
	}
	var err error
	if cerr := (fdRaw{c}).Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, v)
	}); cerr != nil {
		return c.opErr("set", cerr)
	}
	return err
}

// notify hands a readiness token to whoever waits on the read (or write)
// side.
func (c *Socket) notify(write bool) {
	ch := c.rch
	if write {
		ch = c.wch
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// fdRaw is Socket's syscall.RawConn. Its Read waits lazily (waitLazy): it
// is the parked reader's wait (Reader.Park), which Poll serves while it
// polls.
type fdRaw struct{ c *Socket }

func (r fdRaw) Control(f func(fd uintptr)) error {
	_, err := r.c.call(func(fd uintptr) bool { f(fd); return true })
	return err
}

func (r fdRaw) Read(f func(fd uintptr) bool) error  { return r.c.wait(false, waitLazy, f) }
func (r fdRaw) Write(f func(fd uintptr) bool) error { return r.c.wait(true, waitUrgent, f) }
