//go:build linux

package peer

import (
	"io"
	"net"
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
	setParkHook(t, func() { wakes.Add(1) })
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

func setParkHook(t *testing.T, f func()) {
	fastpath.ParkHook = f
	t.Cleanup(func() { fastpath.ParkHook = nil })
}

func readerParked(c *Conn) bool { return readerOf(c) != nil && readerOf(c).Parked() }
