//go:build linux

package peer

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gowebsocket/godot-gowebsocket/peer/internal/fastpath"
)

// While Poll runs, a message to a parked reader is read by Poll and wakes
// no goroutine: the socket is in no poller that would wake one (the reason
// for fastpath.Socket). With the socket in Go's poller, every message woke the reader.
func TestPollReadsWithoutWakingTheReader(t *testing.T) {
	var wakes atomic.Int64
	fastpath.ParkHook = func() { wakes.Add(1) }
	t.Cleanup(func() { fastpath.ParkHook = nil })
	r := newRig(t, Options{}, Options{})
	const n = 500
	w0 := wakes.Load()
	d0 := r.sc.directIn.Load()
	lockstep(r, n, func() {})
	direct, woke := r.sc.directIn.Load()-d0, wakes.Load()-w0
	written := r.cc.directOut.Load()
	t.Logf("%d messages: %d written by the client's Poll, %d read by the server's; the parked reader woke %d times", n, written, direct, woke)
	if direct < n*9/10 || woke > n/10 || written < n/2 {
		t.Fatalf("%d of %d written and %d read by Poll, %d reader wake-ups", written, n, direct, woke)
	}
}

// lockstep sends n small messages from the client, each after the server
// read the one before, polling both sides (and calling each) in between.
func lockstep(r *rig, n int, each func()) {
	r.t.Helper()
	for i := 0; i < n; i++ {
		if err := r.cc.Send([]byte("ping"), WriteBinary); err != nil {
			r.t.Fatal(err)
		}
		deadline := time.Now().Add(testTimeout)
		for {
			r.step()
			each()
			if _, ok := r.sc.Read(); ok {
				break
			}
			if time.Now().After(deadline) {
				r.t.Fatalf("message %d did not arrive", i)
			}
		}
	}
}

// A peer that sends a message and its FIN at once: Poll reads the message
// (the FIN waits behind it in the socket) and the reader must still learn
// of the end. Found by FuzzServerFrames.
func TestPollReadsMessageThenPeerFIN(t *testing.T) {
	srv, sp := newServer(t, Options{})
	for i := 0; i < 20; i++ {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(srv.Port()))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
			testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
		br := bufio.NewReader(conn)
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v", err)
		}
		var c *Conn
		waitUntil(t, "connected, the reader parked", sp.step, func() bool {
			if ev, ok := sp.find(EventConnected, nil); ok {
				c = ev.Conn
			}
			return c != nil && readerOf(c) != nil && readerOf(c).Parked()
		})
		sp.events = sp.events[:0]
		_, _ = conn.Write(rawFrame(frame{fin: true, op: opText, payload: []byte("bye"), masked: true}, -1))
		_ = conn.(*net.TCPConn).CloseWrite()
		time.Sleep(2 * time.Millisecond) // both there before Poll looks (the poller is quiet)
		waitUntil(t, "the disconnect", sp.step, func() bool {
			_, ok := sp.find(EventDisconnected, nil)
			return ok
		})
		if m, ok := c.Read(); !ok || string(m.Data) != "bye" {
			t.Fatalf("round %d: message %q, %v", i, m.Data, ok)
		}
		_ = conn.Close()
	}
}

// When Poll comes back after a pause long enough for the poller to watch the
// sockets again (pollIdle), the poller must leave them to Poll at once. A
// poller that waited for socket events to notice stayed on the sockets: Poll
// takes their events first, and then the wake-up often does not pass the
// nested epoll set at all (a third of the in-engine benchmark's polls ran
// that way, at 1.3x the round trip).
func TestPollerLeavesTheSocketsWhenPollComesBack(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	sd, cd := r.srv.hub.fp.(*linuxPath).set, r.cl.hub.fp.(*linuxPath).set
	for round := 0; round < 5; round++ {
		deadline := time.Now().Add(testTimeout)
		for sd.Quiet() || cd.Quiet() {
			if time.Now().After(deadline) {
				t.Fatal("the pollers did not watch the sockets while nobody polled")
			}
			time.Sleep(time.Millisecond)
		}
		const n = 300
		inMain := 0
		lockstep(r, n, func() {
			if !sd.Quiet() {
				inMain++
			}
		})
		t.Logf("round %d: %d of %d polls with the poller on the sockets", round, inMain, n)
		if inMain > n/10 {
			t.Fatalf("the poller stayed on the sockets for %d polls after Poll came back", inMain)
		}
	}
}

// A game polls once a frame, with nothing arriving: its Poll must not take
// the sockets back from the poller each frame (an epoll_ctl and a wake-up
// of the poller's thread, most of an idle Poll's time, when the idle limit
// was a fixed 5 ms), and when it stops polling the poller must watch the
// sockets again soon (pings and closes are answered meanwhile).
func TestPollAtFrameRateLeavesThePollerQuiet(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	sd := r.srv.hub.fp.(*linuxPath).set
	const frame = 16667 * time.Microsecond
	inMain := 0
	for i := 0; i < 60; i++ {
		time.Sleep(frame)
		if i >= 20 && !sd.Quiet() {
			inMain++
		}
		r.step()
	}
	t.Logf("idle limit at 60 fps: %v; %d of 40 polls found the poller on the sockets", sd.IdleLimit(), inMain)
	if lim := sd.IdleLimit(); lim < frame || lim > 100*time.Millisecond {
		t.Fatalf("idle limit %v at 60 fps", lim)
	}
	if inMain > 4 {
		t.Fatalf("%d of 40 polls at 60 fps found the poller on the sockets", inMain)
	}
	start := time.Now()
	for sd.Quiet() {
		if time.Since(start) > time.Second {
			t.Fatal("the poller did not watch the sockets after Poll stopped")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("the poller watched the sockets %v after Poll stopped", time.Since(start))
}

// Under traffic (a Poll found more sockets readable than it reads itself)
// the idle limit is the short one: the reader goroutines read between
// frames on the other cores instead of leaving it all to the next Poll.
func TestPollUnderTrafficShortensTheIdleLimit(t *testing.T) {
	srv, sp := newServer(t, Options{})
	sd := srv.hub.fp.(*linuxPath).set
	var conns []*Conn
	for i := 0; i < 12; i++ {
		cl, cp := newClient(t, Options{})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "connected", func() { cp.step(); sp.step() }, func() bool { return cl.Conn() != nil && cl.Conn().State() == StateOpen })
		conns = append(conns, cl.Conn())
	}
	for i := 0; i < 40; i++ { // a slow pace: the long limit
		time.Sleep(10 * time.Millisecond)
		sp.step()
	}
	if lim := sd.IdleLimit(); lim <= 10*time.Millisecond {
		t.Fatalf("idle limit %v with nothing arriving at 100 Hz", lim)
	}
	sent, got := 0, 0
	round := func() {
		for _, c := range conns {
			if err := c.Send([]byte("input"), WriteBinary); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		time.Sleep(10 * time.Millisecond)
		sp.step()
	}
	readAll := func() bool {
		for _, c := range srv.peers {
			for {
				if _, ok := c.Read(); !ok {
					break
				}
				got++
			}
		}
		return got == sent
	}
	for i := 0; i < 20 && sd.IdleLimit() > 5*time.Millisecond; i++ {
		round()
	}
	if lim := sd.IdleLimit(); lim > 5*time.Millisecond {
		t.Fatalf("idle limit %v with 12 peers sending each poll", lim)
	}
	// Meanwhile the reader goroutines read it all: Poll reads nothing
	// itself, and every message arrives.
	direct := func() (n int64) {
		for _, c := range srv.peers {
			n += c.directIn.Load()
		}
		return n
	}
	// Polled in a tight loop with every peer sending each time, Poll would
	// find the sockets readable itself (the idle limit never passes).
	readAll()
	d0 := direct()
	const loops = 30
	for i := 0; i < loops; i++ {
		for _, c := range conns {
			if err := c.Send([]byte("input"), WriteBinary); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		time.Sleep(time.Millisecond)
		sp.step()
		readAll()
	}
	waitUntil(t, "every input", sp.step, readAll)
	if n := direct() - d0; n > 0 {
		t.Fatalf("Poll read %d of the last %d messages itself under traffic", n, loops*len(conns))
	}
}

// SetNoDelay may run (caller thread) while the dialing goroutine's attach
// moves the socket to a fastpath.Socket, and reaches the socket after the move.
func TestSetNoDelayDuringTakeOver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc := newCountingConn(nc, nil)
	defer cc.closeConn()
	done := make(chan *fastpath.Socket)
	go func() { done <- takeOver(cc) }()
	// No synchronization but swapMu: reading the connection while (or,
	// here, after) takeOver swaps it is a race unless it holds swapMu.
	time.Sleep(50 * time.Millisecond)
	_ = cc.setNoDelay(true)
	fc := <-done
	if fc == nil {
		t.Fatal("takeOver failed")
	}
	for _, on := range []bool{false, true} {
		if err := cc.setNoDelay(on); err != nil {
			t.Fatal(err)
		}
		v, err := syscall.GetsockoptInt(fc.Fd(), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		if err != nil || (v != 0) != on {
			t.Fatalf("TCP_NODELAY %d (%v), want %v", v, err, on)
		}
	}
}
