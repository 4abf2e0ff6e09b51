//go:build linux

package peer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fdPair returns an fdConn taken from one end of a loopback TCP connection
// and the other end, a plain net.Conn. With a hub, the fdConn is in its
// epoll set (its poller runs); without, it waits with poll(2).
func fdPair(t *testing.T, h *hub) (*fdConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	other := <-acc
	if other == nil {
		t.Fatal("accept failed")
	}
	fc := takeFD(nc)
	if fc == nil {
		t.Fatal("takeFD failed")
	}
	if _, err := nc.Write([]byte("x")); err == nil {
		t.Fatal("the net.Conn is still open after takeFD")
	}
	if h != nil {
		c := newConn(h, resolve(&Options{}))
		c.fp = &directRead{c: c, fc: fc}
		h.register(c)
		if fc.set.Load() == nil {
			t.Fatal("not in the hub's epoll set")
		}
		t.Cleanup(func() {
			h.unregister(c)
			h.path().close(h)
		})
	}
	t.Cleanup(func() {
		_ = fc.Close()
		_ = other.Close()
	})
	return fc, other
}

func TestFDConn(t *testing.T) {
	for _, mode := range []string{"epoll", "alone"} {
		t.Run(mode, func(t *testing.T) {
			var h *hub
			if mode == "epoll" {
				h = &hub{fp: newHubPath()}
			}
			t.Run("read waits for data", func(t *testing.T) {
				fc, other := fdPair(t, h)
				go func() {
					time.Sleep(30 * time.Millisecond)
					_, _ = other.Write([]byte("hello"))
				}()
				b := make([]byte, 16)
				n, err := fc.Read(b)
				if err != nil || string(b[:n]) != "hello" {
					t.Fatalf("read %q, %v", b[:n], err)
				}
				_ = other.Close()
				if _, err := fc.Read(b); err != io.EOF {
					t.Fatalf("after the peer closed: %v, want EOF", err)
				}
			})
			t.Run("write waits for room", func(t *testing.T) {
				fc, other := fdPair(t, h)
				data := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB: more than the socket buffers
				got := make(chan []byte, 1)
				go func() {
					time.Sleep(50 * time.Millisecond) // the writer fills the socket and waits
					b, _ := io.ReadAll(other)
					got <- b
				}()
				n, err := fc.Write(data)
				if err != nil || n != len(data) {
					t.Fatalf("wrote %d of %d: %v", n, len(data), err)
				}
				if err := fc.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				if b := <-got; !bytes.Equal(b, data) {
					t.Fatalf("the peer read %d bytes, not the %d written", len(b), len(data))
				}
			})
			t.Run("read deadline", func(t *testing.T) {
				fc, _ := fdPair(t, h)
				_ = fc.SetReadDeadline(time.Now().Add(40 * time.Millisecond))
				start := time.Now()
				_, err := fc.Read(make([]byte, 8))
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read: %v, want a timeout", err)
				}
				if d := time.Since(start); d < 30*time.Millisecond || d > 2*time.Second {
					t.Fatalf("timed out after %v", d)
				}
				// A deadline set while a read waits applies to it.
				_ = fc.SetReadDeadline(time.Time{})
				go func() {
					time.Sleep(30 * time.Millisecond)
					_ = fc.SetReadDeadline(time.Unix(1, 0))
				}()
				if _, err := fc.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read: %v, want a timeout", err)
				}
			})
			t.Run("close ends waits", func(t *testing.T) {
				fc, _ := fdPair(t, h)
				done := make(chan error, 1)
				go func() {
					_, err := fc.Read(make([]byte, 8))
					done <- err
				}()
				time.Sleep(20 * time.Millisecond)
				if err := fc.Close(); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-done:
					if !errors.Is(err, net.ErrClosed) {
						t.Fatalf("read: %v, want net.ErrClosed", err)
					}
				case <-time.After(2 * time.Second):
					t.Fatal("a read waiting on a closed fdConn did not return")
				}
				if err := fc.Close(); err == nil {
					t.Fatal("second Close succeeded")
				}
			})
		})
	}
}

// While Poll runs, a message to a parked reader is read by Poll and wakes
// no goroutine: the socket is in no poller that would wake one (the reason
// for fdConn). With the socket in Go's poller, every message woke the reader.
func TestPollReadsWithoutWakingTheReader(t *testing.T) {
	var wakes atomic.Int64
	parkHook = func() { wakes.Add(1) }
	t.Cleanup(func() { parkHook = nil })
	r := newRig(t, Options{}, Options{})
	const n = 500
	w0 := wakes.Load()
	d0 := r.sc.directIn.Load()
	lockstep(r, n, func() {})
	direct, woke := r.sc.directIn.Load()-d0, wakes.Load()-w0
	t.Logf("%d messages: %d read by Poll; the parked reader woke %d times", n, direct, woke)
	if direct < n*9/10 || woke > n/10 {
		t.Fatalf("%d of %d read by Poll, %d reader wake-ups", direct, n, woke)
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
			return c != nil && dirOf(c) != nil && dirOf(c).fc.rwait.Load() == waitLazy
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
	sd, cd := r.srv.hub.fp.(*directSet), r.cl.hub.fp.(*directSet)
	for round := 0; round < 5; round++ {
		deadline := time.Now().Add(testTimeout)
		for sd.mode.Load() == modeQuiet || cd.mode.Load() == modeQuiet {
			if time.Now().After(deadline) {
				t.Fatal("the pollers did not watch the sockets while nobody polled")
			}
			time.Sleep(time.Millisecond)
		}
		const n = 300
		inMain := 0
		lockstep(r, n, func() {
			if sd.mode.Load() != modeQuiet {
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
// moves the socket to an fdConn, and reaches the socket after the move.
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
	done := make(chan *fdConn)
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
		v, err := syscall.GetsockoptInt(fc.fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		if err != nil || (v != 0) != on {
			t.Fatalf("TCP_NODELAY %d (%v), want %v", v, err, on)
		}
	}
}
