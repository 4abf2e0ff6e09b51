//go:build windows

package peer

import (
	"encoding/binary"
	"strconv"
	"testing"
	"time"
)

// The Windows fast path (fastpath_windows.go), run under wine by
// `make wine-test`. The mixed-stream and fragmented-stream tests of
// direct_fast_test.go run here too.

func setParkHook(t *testing.T, f func()) {
	winParkHook = f
	t.Cleanup(func() { winParkHook = nil })
}

func readerParked(c *Conn) bool { r := readerOf(c); return r != nil && r.owner.Load() == ownFree }

// HandOvers counts the times Poll left data in the socket to the reader.
func (r *winReader) HandOvers() int64 { return r.kicks.Load() }

// In lockstep Poll writes (an overlapped send of its own) and reads
// (FIONREAD, peek, consume) on the caller's thread: most messages are
// written and read by Poll, every one arrives once and in order.
func TestWindowsPollReadsAndWrites(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	for _, c := range []*Conn{r.sc, r.cc} {
		if readerOf(c) == nil || c.cc.Load().tw == nil {
			t.Fatal("no direct read or write on a plain TCP connection")
		}
	}
	const n = 300
	d0 := r.sc.directIn.Load()
	for i := 0; i < n; i++ {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(i))
		if err := r.cc.Send(b[:], WriteBinary); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(testTimeout)
		for {
			r.step()
			m, ok := r.sc.Read()
			if ok {
				if len(m.Data) != 4 || binary.LittleEndian.Uint32(m.Data) != uint32(i) {
					t.Fatalf("message %d: %x", i, m.Data)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("message %d did not arrive", i)
			}
		}
	}
	if _, ok := r.sc.Read(); ok {
		t.Fatal("a message arrived twice")
	}
	direct := r.sc.directIn.Load() - d0
	written := r.cc.directOut.Load()
	t.Logf("%d messages: %d written by the client's Poll, %d read by the server's Poll", n, written, direct)
	if direct < n/2 || written < n/2 {
		t.Fatalf("only %d of %d written, %d read by Poll", written, n, direct)
	}
	if r.sc.msgsIn.Load() != n {
		t.Fatalf("msgsIn %d, want %d", r.sc.msgsIn.Load(), n)
	}
}

// Past winDirectConns connections Poll reads none (a peek each per Poll
// would cost too much) and the readers read everything, without waiting
// for Poll; back under it, Poll reads again.
func TestWindowsBigHubLeavesReadsToTheReaders(t *testing.T) {
	srv, sp := newServer(t, Options{})
	var clients []*Client
	var cps []*poller
	for i := 0; i < winDirectConns+2; i++ {
		cl, cp := newClient(t, Options{})
		if err := cl.Connect(wsURL(srv, "/"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		clients, cps = append(clients, cl), append(cps, cp)
	}
	step := func() {
		sp.step()
		for _, cp := range cps {
			cp.step()
		}
	}
	waitUntil(t, "all connected", step, func() bool { return sp.count(EventConnected) == len(clients) })
	p := srv.hub.path().(*windowsPath)
	if p.serving.Load() {
		t.Fatalf("Poll reads %d connections directly", len(clients))
	}
	const n = 50
	for i := 0; i < n; i++ {
		for _, cl := range clients {
			if err := cl.Conn().Send([]byte(strconv.Itoa(i)), WriteText); err != nil {
				t.Fatal(err)
			}
		}
		step()
	}
	got := map[*Conn]int{}
	waitUntil(t, "every message", step, func() bool {
		done := 0
		for _, ev := range sp.events {
			if ev.Kind != EventConnected {
				continue
			}
			c := ev.Conn
			for {
				m, ok := c.Read()
				if !ok {
					break
				}
				if string(m.Data) != strconv.Itoa(got[c]) {
					t.Fatalf("conn %d: message %q, want %d", c.ID(), m.Data, got[c])
				}
				got[c]++
			}
			if got[c] == n {
				done++
			}
		}
		return done == len(clients)
	})
	for _, ev := range sp.events {
		if ev.Kind == EventConnected && ev.Conn.directIn.Load() != 0 {
			t.Fatalf("Poll read %d messages in a hub of %d", ev.Conn.directIn.Load(), len(clients))
		}
	}
	for _, cl := range clients[1:] {
		cl.Shutdown()
	}
	waitUntil(t, "back to one connection", step, func() bool { return p.serving.Load() })
	lone := clients[0].Conn()
	var sc *Conn
	for _, ev := range sp.events {
		if ev.Kind == EventConnected && ev.Conn.State() == StateOpen {
			sc = ev.Conn
		}
	}
	if sc == nil {
		t.Fatal("the remaining connection is not open")
	}
	d0 := sc.directIn.Load()
	for i := 0; i < 100; i++ {
		if err := lone.Send([]byte("x"), WriteBinary); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the message", step, func() bool { _, ok := sc.Read(); return ok })
	}
	if sc.directIn.Load() == d0 {
		t.Fatal("Poll read nothing once the hub was small again")
	}
}

// Poll's overlapped send may stay in flight (a peer that does not read
// fills the socket): Poll then writes nothing more, the writer goroutine
// writes the rest behind it, and every byte arrives once and in order.
func TestWindowsPollWritesBehindASendInFlight(t *testing.T) {
	// The client queues at most 16 messages unread: its reader then stops
	// reading and the socket fills.
	r := newRig(t, Options{OutboundBufferSize: 64 << 20, MaxQueuedPackets: 1 << 20}, Options{MaxQueuedPackets: 16})
	const n = 4000
	msg := make([]byte, 8<<10)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(msg, uint32(i))
		if err := r.sc.Send(msg, WriteBinary); err != nil {
			t.Fatal(err)
		}
		r.sp.step() // the server polls (writes); the client does not read yet
	}
	got := 0
	deadline := time.Now().Add(testTimeout)
	for got < n {
		r.step()
		for {
			m, ok := r.cc.Read()
			if !ok {
				break
			}
			if len(m.Data) != len(msg) || binary.LittleEndian.Uint32(m.Data) != uint32(got) {
				t.Fatalf("message %d: %d bytes, numbered %d", got, len(m.Data), binary.LittleEndian.Uint32(m.Data))
			}
			got++
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages", got, n)
		}
	}
	pends := r.sc.cc.Load().tw.(*winTryWriter).pends.Load()
	t.Logf("%d messages of 8 KiB: %d written by Poll, %d of its sends left in flight", n, r.sc.directOut.Load(), pends)
	if r.sc.directOut.Load() == 0 || pends == 0 {
		t.Fatal("Poll should have written, and met a full socket")
	}
}
