package peer

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

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
// socket (countingConn.pre) and the reader is woken, so gorilla sees the
// same byte stream, and the rules and the errors are the same whichever
// thread reads.
//
// For this the socket leaves Go's network poller (fdConn): there, every
// arrival woke a thread (and the parked reader) even when Poll took the
// data. In the hub's own epoll set a parked reader is woken only for what
// Poll leaves to it, or by the hub's poller when nobody polls
// (direct_linux.go).
//
// Ownership of the socket's read side is one atomic word: the reader owns it
// except while it waits for data in watchConn.Read at a frame boundary; Poll
// takes it only from there and gives it back before returning.

const (
	ownReader int32 = iota // the reader goroutine reads (and may block)
	ownFree                // the reader waits for data at a frame boundary
	ownPoll                // Poll reads
)

// Poll takes at most this much per connection and call; the rest is the
// reader goroutine's, so bulk transfers keep their own core.
const (
	directReadMax    = 64 << 10
	directReadFrames = 64
)

// parkHook, when set (tests), runs when a parked reader wakes: a late
// wake-up lets Poll win the race for the data more often.
var parkHook func()

// directRead is a connection's shared read side (nil where the socket is not
// a plain TCP socket under watchConn: TLS, proxies, other platforms).
type directRead struct {
	c      *Conn
	fc     *fdConn // the socket, out of Go's poller (fdconn_linux.go)
	server bool    // frames from the peer must be masked
	key    uint32
	owner  atomic.Int32
	takes  atomic.Uint32 // times Poll took the read side

	one    [1]byte
	waitCB func(fd uintptr) bool // reader: true once readable (or EOF/error), or kicked
	kick   atomic.Bool           // Poll left bytes (or an error) in cc.pre for the reader
	// handOvers counts kicks (tests)
	handOvers atomic.Int64
	cc        *countingConn

	pollCB func(fd uintptr) // Poll: reads pbuf; sets pn, perr
	pbuf   []byte
	pn     int
	perr   error
}

// newDirectRead: fc is the socket right under wc, taken over by cc (attach).
func newDirectRead(c *Conn, cc *countingConn, wc *watchConn, fc *fdConn) *directRead {
	d := &directRead{c: c, cc: cc, fc: fc, server: !wc.client}
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
func (d *directRead) park() {
	if d.cc.pre != nil || d.cc.preErr != nil {
		return // what Poll handed over comes first
	}
	g := d.takes.Load()
	d.owner.Store(ownFree)
	for i := 0; ; i++ {
		err := fdRaw{d.fc}.Read(d.waitCB)
		if parkHook != nil {
			parkHook()
		}
		if d.kick.Load() || err != nil || d.c.phase.Load() != phOpen {
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
func (d *directRead) acquire() {
	for i := 0; !d.owner.CompareAndSwap(ownFree, ownReader); i++ {
		d.backOff(i)
	}
}

// backOff waits a little for Poll's turn to end: it takes microseconds, so
// yield a few times, then sleep (the polling thread may have been
// preempted). Nothing here makes Poll wake us: a goroutine readied from the
// polling thread costs that thread a scheduler hand-off.
func (d *directRead) backOff(i int) {
	if i < 20 {
		runtime.Gosched()
	} else {
		time.Sleep(20 * time.Microsecond)
	}
}

// readDirect is Poll's read (caller thread): complete plain frames at the
// head of the socket become messages, queued as the reader would queue them.
// It reports whether the reader goroutine must look at the socket (what
// Poll did not take, the end, an error, or more than one read took).
func (c *Conn) readDirect(h *hub) (wake bool) {
	d := c.dr
	if d == nil || c.phase.Load() != phOpen || d.kick.Load() || !d.owner.CompareAndSwap(ownFree, ownPoll) {
		return true // (kick: the reader has not taken what Poll handed over yet)
	}
	defer d.owner.Store(ownFree)
	d.takes.Add(1)
	// Control, not Read: the parked reader holds the descriptor's read
	// lock while it waits; the owner word is what serializes reads.
	buf := h.directBuf()
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
	d.cc.in.Add(int64(n))
	msgs := h.ds.msgs[:0]
	used := c.takeFrames(buf[:n], d.server, &msgs)
	if used < n {
		d.handOver(buf[used:n], nil)
	}
	wake = used < n || n == len(buf)
	for i := range msgs {
		c.msgsIn.Add(1)
		c.directIn.Add(1)
		c.bytesIn.Add(int64(len(msgs[i].Data)))
		c.queueIn(msgs[i])
		msgs[i] = Message{}
	}
	h.ds.msgs = msgs[:0]
	return wake
}

// handOver gives the reader goroutine what Poll read but does not take (or
// the read error), ahead of the socket; the kick flag ends its wait once
// the caller has it woken (readDirectAll).
func (d *directRead) handOver(rest []byte, err error) {
	d.cc.setPre(rest, err)
	d.handOvers.Add(1)
	d.kick.Store(true)
}

// takeFrames parses complete plain data frames from b into msgs (unmasked
// copies in pooled buffers) within the inbound limits and returns the bytes
// they span. It stops at the first frame it does not take whole.
func (c *Conn) takeFrames(b []byte, server bool, msgs *[]Message) int {
	cnt, bytes := c.inCount.Load(), c.inBytes.Load()
	i := 0
	for len(*msgs) < directReadFrames && len(b)-i >= 2 {
		b0, b1 := b[i], b[i+1]
		op := b0 & 0x0F
		if b0&0xF0 != 0x80 || (op != 1 && op != 2) || (b1&0x80 != 0) != server {
			break // not final, RSV bits, control, continuation, wrong mask
		}
		hl := 2
		l := uint64(b1 & 0x7F)
		switch l {
		case 126:
			if len(b)-i < 4 {
				return i
			}
			l = uint64(binary.BigEndian.Uint16(b[i+2:]))
			hl = 4
		case 127:
			if len(b)-i < 10 {
				return i
			}
			l = binary.BigEndian.Uint64(b[i+2:])
			hl = 10
		}
		if server {
			hl += 4
		}
		if len(b)-i < hl {
			break // the mask key is not all here
		}
		if l > uint64(c.lim.inBuf) || uint64(len(b)-i-hl) < l {
			break // too big (gorilla fails it) or not all here
		}
		if cnt >= c.lim.maxPk || (bytes != 0 && bytes+int64(l) > c.lim.inBuf) {
			break // the queue is full: the reader waits for room
		}
		p := b[i+hl : i+hl+int(l)]
		var m Message
		if l > 0 {
			m.buf = getBuf(int(l))
			m.Data = *m.buf
			if server {
				maskCopy(m.Data, p, binary.LittleEndian.Uint32(b[i+hl-4:]))
			} else {
				copy(m.Data, p)
			}
		}
		m.Text = op == 1
		if m.Text && !utf8.Valid(m.Data) {
			if m.buf != nil {
				putBuf(m.buf)
			}
			break // the reader fails it with 1007
		}
		*msgs = append(*msgs, m)
		cnt++
		bytes += int64(l)
		i += hl + int(l)
	}
	return i
}

// maskCopy sets dst to src XOR the masking key (key: the 4 key bytes read
// little-endian), eight bytes at a time.
func maskCopy(dst, src []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	i := 0
	dst = dst[:len(src)] // (one bounds check for the loops below)
	for ; i+32 <= len(src); i += 32 {
		s, d := src[i:i+32], dst[i:i+32]
		binary.LittleEndian.PutUint64(d[0:], binary.LittleEndian.Uint64(s[0:])^k8)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k8)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k8)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k8)
	}
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k8)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] ^ byte(key>>(8*(i&3)))
	}
}
