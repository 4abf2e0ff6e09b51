//go:build linux

package peer

import (
	"syscall"
	"unsafe"
)

// directReads: Poll may read complete frames from sockets (see direct.go).
const directReads = true

// peekSocket is one non-blocking recv(2) with MSG_PEEK: the bytes stay in
// the socket.
func peekSocket(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// readSocket is one read(2) on a non-blocking socket.
func readSocket(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }

// The hub's connections with direct reads are in one epoll set
// (edge-triggered), so Poll looks only at sockets that received something:
// one epoll_wait per Poll, whatever the number of connections.
type directSet struct {
	ep     int // valid while conns != nil
	conns  map[uint32]*Conn
	next   uint32
	events [128]syscall.EpollEvent // caller thread
	buf    []byte                  // caller thread: read buffer
	msgs   []Message               // caller thread: scratch
}

// addDirect puts c's socket in the hub's epoll set (regMu held).
func (h *hub) addDirect(c *Conn) {
	d := &h.ds
	if d.conns == nil {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return // Poll never looks at it; the reader goroutine reads everything
		}
		d.ep = ep
		d.conns = make(map[uint32]*Conn)
	}
	d.next++
	key := d.next
	var cerr error
	err := c.dr.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | (-syscall.EPOLLET & 0xffffffff), Fd: int32(key)}
		cerr = syscall.EpollCtl(d.ep, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err != nil || cerr != nil {
		return // Poll never looks at it; the reader goroutine reads everything
	}
	c.dr.key = key
	d.conns[key] = c
}

// removeDirect forgets c (regMu held). Its socket leaves the epoll set when
// it is closed.
func (h *hub) removeDirect(c *Conn) {
	if c.dr != nil && c.dr.key != 0 {
		delete(h.ds.conns, c.dr.key)
	}
}

// directPerPoll is the most connections one Poll reads directly.
const directPerPoll = 8

// readDirectAll reads directly from the sockets that received data since
// the last call (caller thread, from Poll).
func (h *hub) readDirectAll() {
	h.regMu.Lock()
	ep, live := h.ds.ep, len(h.ds.conns)
	h.regMu.Unlock()
	if live == 0 {
		return
	}
	n, err := syscall.EpollWait(ep, h.ds.events[:], 0)
	if err != nil || n <= 0 {
		return
	}
	var cs [len(h.ds.events)]*Conn
	h.regMu.Lock()
	for i := 0; i < n; i++ {
		cs[i] = h.ds.conns[uint32(h.ds.events[i].Fd)]
	}
	h.regMu.Unlock()
	// A burst over many connections is the reader goroutines' (on every
	// core); Poll reads a few, for latency.
	for _, c := range cs[:min(n, directPerPoll)] {
		if c != nil {
			c.readDirect(h)
		}
	}
}

// closeDirect closes the epoll set once no connection is left (caller
// thread, after every goroutine ended); a later connection makes a new one.
func (h *hub) closeDirect() {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	if h.ds.conns != nil && len(h.ds.conns) == 0 {
		_ = syscall.Close(h.ds.ep)
		h.ds.conns = nil
	}
}

func (h *hub) directBuf() []byte {
	if h.ds.buf == nil {
		h.ds.buf = make([]byte, directReadMax)
	}
	return h.ds.buf
}
