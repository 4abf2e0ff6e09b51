//go:build linux

package fastpath

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// ReadMax is the most Poll reads from one socket per call; the rest is the
// reader goroutine's, so bulk transfers keep their own core.
const ReadMax = 64 << 10

// Direct reads: the polling thread takes complete messages from the socket.
//
// A message that arrives while the reader goroutine sleeps costs a
// cross-thread wake-up before Poll can see it (about 20 µs per direction on
// a small VM): the round trip of a game loop that echoes. So, like the
// direct write (flushDirect), Poll reads what is already there: when the
// reader goroutine is parked between frames (nothing of a frame buffered in
// gorilla, no fragmented message under way), Poll reads the socket (one
// non-blocking read) and takes the complete plain data frames at the head
// (FIN set, no RSV bits, text or binary, masked as the role requires, within
// the limits, text valid UTF-8). Whatever follows (control frames,
// fragments, compressed frames, partial frames, anything malformed, frames
// past a full inbound queue) is handed to the reader goroutine ahead of the
// socket (Owner.HandOver) and the reader is woken, so gorilla sees the
// same byte stream, and the rules and the errors are the same whichever
// thread reads.
//
// For this the socket leaves Go's network poller (Socket): there, every
// arrival woke a thread (and the parked reader) even when Poll took the
// data. In the hub's own epoll set a parked reader is woken only for what
// Poll leaves to it, or by the hub's poller when nobody polls (Set,
// below).
//
// Ownership of the socket's read side is one atomic word: the reader owns it
// except while it waits for data in watchConn.Read at a frame boundary; Poll
// takes it only from there and gives it back before returning.

const (
	ownReader int32 = iota // the reader goroutine reads (and may block)
	ownFree                // the reader waits for data at a frame boundary
	ownPoll                // Poll reads
)

// ParkHook, when set (tests), runs when a parked reader wakes: a late
// wake-up lets Poll win the race for the data more often.
var ParkHook func()

// Owner is the connection a Reader reads for (the peer package's Conn).
type Owner interface {
	// Open reports whether the connection is open (else the reader
	// goroutine reads everything).
	Open() bool
	// HandedOver reports whether bytes or an error that Poll handed over
	// wait for the reader goroutine (ahead of the socket).
	HandedOver() bool
	// HandOver gives the reader goroutine rest (copied) and err, ahead of
	// the socket.
	HandOver(rest []byte, err error)
	// Take takes the complete plain data frames at the head of b (read from
	// the socket by Poll; frames from a client are masked when server) as
	// messages, and returns the bytes they span; it counts all of b as read
	// from the wire. Caller goroutine, while the Reader owns the read side.
	Take(b []byte, server bool) (used int)
}

// Reader is a connection's shared read side (only for a plain TCP socket
// right under the WebSocket's frame reader: no TLS).
type Reader struct {
	o      Owner
	fc     *Socket // the socket, out of Go's poller (socket_linux.go)
	server bool    // frames from the peer must be masked
	key    uint32
	owner  atomic.Int32
	takes  atomic.Uint32 // times Poll took the read side

	one    [1]byte
	waitCB func(fd uintptr) bool // reader: true once readable (or EOF/error), or kicked
	kick   atomic.Bool           // Poll handed bytes (or an error) over to the reader
	// handOvers counts kicks (tests)
	handOvers atomic.Int64

	pollCB func(fd uintptr) // Poll: reads pbuf; sets pn, perr
	pbuf   []byte
	pn     int
	perr   error
}

// NewReader makes the read side of fc (taken over with TakeFD) for o;
// server: frames from the peer must be masked.
func NewReader(fc *Socket, o Owner, server bool) *Reader {
	d := &Reader{o: o, fc: fc, server: server}
	d.owner.Store(ownReader)
	d.waitCB = func(fd uintptr) bool {
		if d.kick.Load() {
			return true
		}
		_, err := peekSocket(fd, d.one[:])
		return !errors.Is(err, syscall.EAGAIN)
	}
	d.pollCB = func(fd uintptr) { d.pn, d.perr = readSocket(fd, d.pbuf) }
	return d
}

// park is the reader goroutine's wait for data at a frame boundary (from
// watchConn.Read): meanwhile Poll may take complete frames itself. It returns
// owning the read side with data (or an end, or an error) in the socket.
func (d *Reader) Park() {
	if !d.o.Open() {
		return
	}
	if d.o.HandedOver() {
		return // what Poll handed over comes first
	}
	g := d.takes.Load()
	d.owner.Store(ownFree)
	for i := 0; ; i++ {
		err := fdRaw{d.fc}.Read(d.waitCB)
		if ParkHook != nil {
			ParkHook()
		}
		if d.kick.Load() || err != nil || !d.o.Open() {
			d.acquire()
			d.kick.Store(false) // what Poll left for us is ours now
			return
		}
		// Data is there. While Poll keeps taking it, stay out of its way:
		// owning the read side even briefly would make Poll skip it.
		if d.owner.Load() == ownPoll {
			d.backOff(i) // Poll is reading it now
			continue
		}
		if t := d.takes.Load(); t != g {
			g, i = t, -1 // Poll read since: wait again
			continue
		}
		if d.owner.CompareAndSwap(ownFree, ownReader) {
			if d.takes.Load() == g {
				return // Poll has not read since the data came: ours
			}
			g = d.takes.Load()
			d.owner.Store(ownFree)
		}
		d.backOff(i)
	}
}

// acquire takes the read side back from Poll (reader goroutine).
func (d *Reader) acquire() {
	for i := 0; !d.owner.CompareAndSwap(ownFree, ownReader); i++ {
		d.backOff(i)
	}
}

// backOff waits a little for Poll's turn to end: it takes microseconds, so
// yield a few times, then sleep (the polling thread may have been
// preempted). Nothing here makes Poll wake us: a goroutine readied from the
// polling thread costs that thread a scheduler hand-off.
func (d *Reader) backOff(i int) {
	if i < 20 {
		runtime.Gosched()
	} else {
		time.Sleep(20 * time.Microsecond)
	}
}

// read is Poll's read (caller thread): complete plain frames at the head of
// the socket become messages (Owner.Take), queued as the reader would queue
// them. It reports whether the reader goroutine must look at the socket
// (what Poll did not take, the end, an error, or more than one read took).
func (d *Reader) read(s *Set) (wake bool) {
	if !d.o.Open() || d.kick.Load() || !d.owner.CompareAndSwap(ownFree, ownPoll) {
		return true // (kick: the reader has not taken what Poll handed over yet)
	}
	defer d.owner.Store(ownFree)
	d.takes.Add(1)
	// Control, not Read: the parked reader holds the descriptor's read
	// lock while it waits; the owner word is what serializes reads.
	buf := s.directBuf()
	d.pbuf, d.pn, d.perr = buf, 0, nil
	cerr := fdRaw{d.fc}.Control(d.pollCB)
	d.pbuf = nil
	n, rerr := d.pn, d.perr
	if errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EINTR) {
		return false // nothing there
	}
	if cerr != nil || n == 0 && rerr == nil {
		return true // closed, or at the end: the reader finds it
	}
	if rerr != nil {
		d.handOver(nil, rerr)
		return true
	}
	used := d.o.Take(buf[:n], d.server)
	if used < n {
		d.handOver(buf[used:n], nil)
	}
	return used < n || n == len(buf)
}

// handOver gives the reader goroutine what Poll read but does not take (or
// the read error), ahead of the socket; the kick flag ends its wait once
// the caller has it woken (readAll).
func (d *Reader) handOver(rest []byte, err error) {
	d.o.HandOver(rest, err)
	d.handOvers.Add(1)
	d.kick.Store(true)
}

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

// The hub's Sockets are in one epoll set, ep (edge-triggered). Poll
// looks there (one non-blocking epoll_wait per call, whatever the number of
// connections) and reads complete frames itself. The hub's poller goroutine
// waits in Go's own poller on a second set, the gate, which holds an eventfd
// and, only while the poller must watch the sockets, ep itself: while some
// goroutine waits urgently for a socket (Socket.await), or while nobody
// calls Poll (the parked readers must then read: pings, closes,
// back-pressure). Otherwise nothing that arrives on a socket wakes any
// thread but the one that calls Poll; Poll and urgent waiters signal the
// eventfd.
type Set struct {
	mu sync.Mutex // guards conns, next, running, pdone and the sets' lifetime

	ep    int      // sockets and the eventfd; valid while conns != nil
	gate  *os.File // epoll set: the eventfd, and ep in modeMain
	grc   syscall.RawConn
	gfd   int // the gate's descriptor
	efd   int
	conns map[uint32]*Reader
	next  uint32

	running bool          // the poller goroutine runs
	pdone   chan struct{} // closed when it returns

	mode   atomic.Int32 // modeMain / modeQuiet (set under gmu)
	urgent atomic.Int32 // urgent waits under way

	// The caller's pace (see idleLimit). Written by Poll only.
	lastPoll atomic.Int64 // when Poll last ran (monotonic ns, see mono)
	cadence  atomic.Int64 // smoothed time between Polls (ns)
	busy     atomic.Int32 // Polls left in busy mode (see busyPolls)
	woken    atomic.Int32 // parked readers the poller woke for data since the last Poll

	gmu    sync.Mutex // orders moves of ep in and out of the gate
	inGate bool       // gmu

	// readiness Poll found for waiting goroutines, for the poller to hand
	// over (a goroutine readied from the polling thread waits for that
	// thread to be descheduled; the poller's parks at once)
	pmu  sync.Mutex
	pend []note
	// sockets the poller found readable for parked readers while Poll
	// polls: Poll reads them (the poller wakes their readers if Poll stops
	// polling)
	fwd  []fwdConn
	nfwd atomic.Int32

	events [128]syscall.EpollEvent // caller thread
	buf    []byte                  // caller thread: read buffer
}

type note struct {
	c     *Socket
	write bool
}

type fwdConn struct {
	c   *Reader
	evs uint32
}

const (
	modeQuiet int32 = iota // the poller wakes for the eventfd only
	modeMain               // ep is in the gate: the poller wakes for the sockets
)

// Poll is idle once it has stayed away for idleLimit: the poller then
// watches the sockets for the parked readers (pings, closes, back-pressure
// are answered while the game does not poll). The limit follows the
// caller's pace: twice its smoothed interval between Polls, within
// [pollIdle, pollIdleMax]. A game polling at 60 fps (16.7 ms) is then
// never idle, so its Poll does not take the sockets back from the poller
// each frame (an epoll_ctl and a wake-up of the poller's thread: most of an
// idle Poll's time). Under traffic (more sockets became readable since a
// Poll than it reads itself, busyPolls Polls ago or less) the limit is
// pollIdle and the reader goroutines read everything, on the other cores:
// the poller leaves nothing to Poll, and Poll reads nothing itself (with
// 1,000 clients the direct reads cost the game's thread more than the
// reader goroutines' wake-ups: make bench-server).
const (
	pollIdle    = 5 * time.Millisecond
	pollIdleMax = 50 * time.Millisecond
	busyPolls   = 30
)

// idleLimit is how long Poll may stay away before it is idle.
func (d *Set) idleLimit() time.Duration {
	if d.busy.Load() > 0 {
		return pollIdle
	}
	return min(max(2*time.Duration(d.cadence.Load()), pollIdle), pollIdleMax)
}

// epoch is the origin of mono.
var epoch = time.Now()

// mono is a monotonic clock in nanoseconds since epoch.
func mono() int64 { return int64(time.Since(epoch)) }

// pace records a Poll (caller thread): its time and the smoothed interval.
func (d *Set) pace() {
	t := mono()
	if last := d.lastPoll.Swap(t); last != 0 {
		c := d.cadence.Load()
		d.cadence.Store(c + (t-last-c)/8)
	}
}

const (
	epollIn  = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
	epollOut = syscall.EPOLLOUT | syscall.EPOLLHUP | syscall.EPOLLERR
	epollEnd = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
	epollET  = -syscall.EPOLLET & 0xffffffff
)

// urgentAdd counts urgent waits; the first one moves a quiet poller to the
// sockets.
func (d *Set) urgentAdd(n int32) {
	if d.urgent.Add(n) > 0 && n > 0 && d.mode.Load() == modeQuiet {
		d.signal()
	}
}

func (d *Set) signal() {
	one := uint64(1)
	_, _ = syscall.Write(d.efd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

// NewSet returns an empty set; its epoll sets are made with the first
// socket added.
func NewSet() *Set { return &Set{} }

// Add puts dr's socket in the set and starts the poller when needed.
func (d *Set) Add(dr *Reader) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fc := dr.fc
	if d.conns == nil && !d.open() {
		return // fc waits with poll(2); the reader goroutine reads everything
	}
	d.next++
	if d.next == 0 {
		d.next++
	}
	key := d.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET, Fd: int32(key)}
	var cerr error
	if err := (fdRaw{fc}).Control(func(fd uintptr) {
		cerr = syscall.EpollCtl(d.ep, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	}); err != nil || cerr != nil {
		return
	}
	dr.key = key
	d.conns[key] = dr
	fc.set.Store(d)
	if !d.running {
		d.running = true
		d.pdone = make(chan struct{})
		go d.poller(d.pdone)
	}
}

// open makes the epoll sets and the eventfd (mu held).
func (d *Set) open() bool {
	var fds [3]int
	made := 0
	ok := false
	defer func() {
		if !ok {
			for _, fd := range fds[:made] {
				_ = syscall.Close(fd)
			}
		}
	}()
	for made < 2 {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return false
		}
		fds[made] = fd
		made++
	}
	r, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		return false
	}
	fds[2] = int(r)
	made++
	ep, gate, efd := fds[0], fds[1], fds[2]
	// Level-triggered: Poll's epoll_wait may see it too; it stays ready
	// until the poller drains it.
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 0}
	if syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, efd, &ev) != nil ||
		syscall.EpollCtl(gate, syscall.EPOLL_CTL_ADD, efd, &ev) != nil ||
		syscall.SetNonblock(gate, true) != nil {
		return false
	}
	gf := os.NewFile(uintptr(gate), "gowebsocket-epoll") // non-blocking: in Go's poller
	grc, _ := gf.SyscallConn()                           // fails only for a nil or closed file
	ok = true
	d.ep, d.gate, d.grc, d.gfd, d.efd = ep, gf, grc, gate, efd
	d.inGate = false
	d.conns = make(map[uint32]*Reader)
	d.mode.Store(modeQuiet)
	return true
}

// Remove forgets dr; its socket leaves the epoll set when it is closed.
// The poller ends with the last connection.
func (d *Set) Remove(dr *Reader) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dr.key != 0 {
		delete(d.conns, dr.key)
		if len(d.conns) == 0 && d.running {
			d.signal()
		}
	}
}

// poller is the hub's poller goroutine (see Set).
func (d *Set) poller(done chan struct{}) {
	defer close(done)
	var evs [128]syscall.EpollEvent
	var cs [128]*Reader
	inGate, n := false, 0
	harvest := func(fd uintptr) bool {
		d.gmu.Lock()
		inGate = d.inGate // Poll may have taken ep out
		d.gmu.Unlock()
		src := int(fd)
		if inGate {
			src = d.ep
		}
		n, _ = syscall.EpollWait(src, evs[:], 0)
		return n > 0
	}
	// The gate's read deadline, as set last. The gate outlives pollers (a
	// poller ends with the last socket, the next Add starts another): clear
	// what an earlier one left, or a past deadline would fail every read of
	// the gate at once and this poller would spin without ever harvesting.
	var dl time.Time
	_ = d.gate.SetReadDeadline(dl)
	for {
		d.mu.Lock()
		if len(d.conns) == 0 {
			d.running = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		// Poll is idle once it has not run for idleLimit (and until it runs).
		seen := d.lastPoll.Load()
		seenAt := epoch.Add(-pollIdleMax) // never polled: idle
		if seen != 0 {
			seenAt = epoch.Add(time.Duration(seen))
		}
		limit := d.idleLimit()
		idle := time.Since(seenAt) >= limit
		if idle && d.nfwd.Load() > 0 {
			d.unforward() // Poll stopped before it read what we left it
		}
		d.gmu.Lock()
		d.setGate(d.urgent.Load() > 0 || idle)
		inGate = d.inGate
		d.gmu.Unlock()
		if !inGate && d.urgent.Load() > 0 {
			continue
		}
		// Quiet, or with readers left to Poll: look again when Poll would
		// be idle.
		var want time.Time
		if !inGate || d.nfwd.Load() > 0 {
			want = seenAt.Add(limit)
		}
		if !want.Equal(dl) {
			dl = want
			_ = d.gate.SetReadDeadline(dl)
		}
		n = 0
		if err := d.grc.Read(harvest); err != nil {
			n = 0
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				time.Sleep(time.Millisecond) // closed under us: the connection check ends it
			}
		}
		if !inGate {
			if n > 0 {
				d.drain()
			}
			continue
		}
		if idle && d.lastPoll.Load() != seen {
			idle = false // Poll is back: what came is its to read
		}
		d.lookup(evs[:n], cs[:n])
		for i := 0; i < n; i++ {
			c := cs[i]
			if c == nil {
				if evs[i].Fd == 0 {
					d.drain()
				}
				continue
			}
			cs[i] = nil
			fc := c.fc
			if evs[i].Events&epollIn != 0 {
				switch w := fc.rwait.Load(); {
				case w == waitLazy && !idle && d.busy.Load() == 0:
					d.forward(c, evs[i].Events) // Poll reads it
				case w != waitNone:
					if w == waitLazy {
						d.woken.Add(1)
					}
					fc.notify(false)
				}
			}
			if evs[i].Events&epollOut != 0 && fc.wwait.Load() != waitNone {
				fc.notify(true)
			}
		}
	}
}

// setGate puts ep in the gate or takes it out (gmu held).
func (d *Set) setGate(in bool) {
	if in != d.inGate {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 1}
		op := syscall.EPOLL_CTL_ADD
		if !in {
			op = syscall.EPOLL_CTL_DEL
		}
		if syscall.EpollCtl(d.gfd, op, d.ep, &ev) == nil {
			d.inGate = in
		}
	}
	if d.inGate {
		d.mode.Store(modeMain)
	} else {
		d.mode.Store(modeQuiet)
	}
}

// leaveGate takes ep out of the gate when Poll comes back after a pause
// (caller thread), unless a goroutine waits urgently. The poller would
// notice late or not at all: Poll takes the sockets' events first, and a
// wake-up often does not pass a nested epoll set whose events another
// thread takes. The signal has the poller watch for the next pause.
func (d *Set) leaveGate() {
	d.gmu.Lock()
	if d.urgent.Load() == 0 {
		d.setGate(false)
	}
	d.gmu.Unlock()
	d.signal()
}

// lookup sets cs[i] to the connection of evs[i] (nil for the eventfd or a
// connection already gone).
func (d *Set) lookup(evs []syscall.EpollEvent, cs []*Reader) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range evs {
		cs[i] = nil
		if k := uint32(evs[i].Fd); k != 0 {
			cs[i] = d.conns[k]
		}
	}
}

// drain resets the eventfd and hands over what Poll found.
func (d *Set) drain() {
	var b [8]byte
	_, _ = syscall.Read(d.efd, b[:])
	d.pmu.Lock()
	p := d.pend
	d.pend = nil
	d.pmu.Unlock()
	for i := range p {
		p[i].c.notify(p[i].write)
		p[i] = note{}
	}
	d.pmu.Lock()
	if d.pend == nil {
		d.pend = p[:0]
	}
	d.pmu.Unlock()
}

// forward leaves c, readable, to Poll (poller).
func (d *Set) forward(c *Reader, evs uint32) {
	d.pmu.Lock()
	d.fwd = append(d.fwd, fwdConn{c, evs})
	d.nfwd.Store(int32(len(d.fwd)))
	d.pmu.Unlock()
}

// takeFwd takes what the poller left to Poll.
func (d *Set) takeFwd() []fwdConn {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	f := d.fwd
	d.fwd = nil
	d.nfwd.Store(0)
	return f
}

// unforward wakes the readers of what was left to Poll (poller).
func (d *Set) unforward() {
	f := d.takeFwd()
	for i, fw := range f {
		fw.c.fc.notify(false)
		f[i] = fwdConn{}
	}
}

// directPerPoll is the most connections one Poll reads directly.
const directPerPoll = 8

// ReadAll reads directly from the sockets that received data since the
// last call (caller thread, from Poll), and has the poller wake the
// goroutines waiting for the others.
func (d *Set) ReadAll() {
	d.pace()
	d.mu.Lock()
	ep, live := d.ep, len(d.conns)
	d.mu.Unlock()
	if live == 0 {
		return
	}
	if d.mode.Load() == modeMain && d.urgent.Load() == 0 {
		d.leaveGate()
	}
	// direct counts Poll's direct reads up to directPerPoll; under traffic
	// (see idleLimit) it reads none.
	direct, noted, readable := 0, false, int(d.woken.Swap(0))
	if d.busy.Load() > 0 {
		direct = directPerPoll
	}
	if d.nfwd.Load() > 0 {
		f := d.takeFwd()
		readable += len(f)
		for i, fw := range f {
			direct, noted = d.readOne(fw.c, fw.evs, direct, noted)
			f[i] = fwdConn{}
		}
		d.pmu.Lock()
		if d.fwd == nil {
			d.fwd = f[:0]
		}
		d.pmu.Unlock()
	}
	n, err := syscall.EpollWait(ep, d.events[:], 0)
	if err != nil {
		n = 0
	}
	var cs [len(d.events)]*Reader
	d.lookup(d.events[:n], cs[:n])
	for i, c := range cs[:n] {
		if c != nil {
			if d.events[i].Events&epollIn != 0 {
				readable++
			}
			direct, noted = d.readOne(c, d.events[i].Events, direct, noted)
		}
	}
	if readable > directPerPoll {
		if d.busy.Swap(busyPolls) == 0 {
			noted = true // the poller's idle limit shrinks
		}
	} else if d.busy.Load() > 0 {
		d.busy.Add(-1)
	}
	if noted {
		d.signal()
	}
}

// readOne handles the readiness evs of c for Poll: a direct read when its
// reader is parked (a burst over many connections is the reader
// goroutines', on every core; Poll reads a few, for latency), else a note
// for the poller to wake whoever waits.
func (d *Set) readOne(c *Reader, evs uint32, direct int, noted bool) (int, bool) {
	fc := c.fc
	if evs&epollIn != 0 {
		wake := true
		if direct < directPerPoll && fc.rwait.Load() == waitLazy {
			direct++
			// The peer's FIN (or an error) may wait behind the data
			// Poll takes: the reader must see it.
			wake = c.read(d) || evs&epollEnd != 0
		}
		if wake && fc.rwait.Load() != waitNone {
			noted = d.note(fc, false) || noted
		}
	}
	if evs&epollOut != 0 && fc.wwait.Load() != waitNone {
		noted = d.note(fc, true) || noted
	}
	return direct, noted
}

// note queues a wake-up for the poller; true when the poller must be
// signalled (the queue was empty).
func (d *Set) note(c *Socket, write bool) bool {
	d.pmu.Lock()
	first := len(d.pend) == 0
	d.pend = append(d.pend, note{c, write})
	d.pmu.Unlock()
	return first
}

// Close closes the epoll set once no connection is left (caller thread,
// after every goroutine ended); a later Add makes a new one.
func (d *Set) Close() {
	d.mu.Lock()
	for d.conns != nil && len(d.conns) == 0 && d.running {
		done := d.pdone
		d.signal()
		d.mu.Unlock()
		<-done
		d.mu.Lock()
	}
	if d.conns != nil && len(d.conns) == 0 {
		_ = d.gate.Close()
		_ = syscall.Close(d.ep)
		_ = syscall.Close(d.efd)
		d.conns = nil
		d.pend = nil
	}
	d.mu.Unlock()
}

func (d *Set) directBuf() []byte {
	if d.buf == nil {
		d.buf = make([]byte, ReadMax)
	}
	return d.buf
}
