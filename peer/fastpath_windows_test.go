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

// In lockstep Poll reads (FIONREAD, peek, consume) on the caller's thread:
// most messages are read by Poll, every one arrives once and in order.
func TestWindowsPollReads(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	for _, c := range []*Conn{r.sc, r.cc} {
		if readerOf(c) == nil {
			t.Fatal("no direct read on a plain TCP connection")
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
	t.Logf("%d messages: %d read by Poll", n, direct)
	if direct < n/2 {
		t.Fatalf("only %d of %d read by Poll", direct, n)
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
