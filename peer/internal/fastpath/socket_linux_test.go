//go:build linux

package fastpath

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// nopOwner owns a socket Poll never reads.
type nopOwner struct{}

func (nopOwner) Open() bool             { return false }
func (nopOwner) HandedOver() bool       { return false }
func (nopOwner) HandOver([]byte, error) {}
func (nopOwner) Take([]byte, bool) int  { return 0 }

// fdPair returns a Socket taken from one end of a loopback TCP connection
// and the other end, a plain net.Conn. With a Set, the Socket is in it (its
// poller runs); without, it waits with poll(2).
func fdPair(t *testing.T, s *Set) (*Socket, net.Conn) {
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
	fc := TakeFD(nc)
	if fc == nil {
		t.Fatal("TakeFD failed")
	}
	if _, err := nc.Write([]byte("x")); err == nil {
		t.Fatal("the net.Conn is still open after TakeFD")
	}
	if s != nil {
		r := NewReader(fc, nopOwner{}, false)
		s.Add(r)
		if fc.set.Load() == nil {
			t.Fatal("not in the set")
		}
		t.Cleanup(func() {
			s.Remove(r)
			s.Close()
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
			var h *Set
			if mode == "epoll" {
				h = NewSet()
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
					t.Fatal("a read waiting on a closed Socket did not return")
				}
				if err := fc.Close(); err == nil {
					t.Fatal("second Close succeeded")
				}
			})
		})
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A poller started after the last one ended (the set emptied, then a socket
// came) must not inherit the deadline the last one left on the gate: with
// it, the gate's reads failed at once and the poller spun, never handing
// readiness to waiting goroutines. Here an urgent read must still complete.
func TestPollerRestartsWithoutAStaleDeadline(t *testing.T) {
	s := NewSet()
	t.Cleanup(s.Close)
	fc1, _ := fdPair(t, nil)
	r1 := NewReader(fc1, nopOwner{}, false)
	s.Add(r1)
	// Poll is active: the poller leaves the sockets to it and waits on the
	// gate with a deadline (when Poll would be idle).
	for start := time.Now(); time.Since(start) < 30*time.Millisecond; {
		s.ReadAll()
		time.Sleep(100 * time.Microsecond)
	}
	s.Remove(r1) // the poller ends, its deadline stays on the gate
	time.Sleep(20 * time.Millisecond)

	fc2, other := fdPair(t, nil)
	r2 := NewReader(fc2, nopOwner{}, false)
	s.Add(r2) // a new poller
	t.Cleanup(func() { s.Remove(r2) })
	done := make(chan error, 1)
	go func() {
		b := make([]byte, 8)
		_, err := fc2.Read(b) // an urgent wait: only the poller can end it
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if _, err := other.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		_ = fc2.Close() // ends the read
		<-done
		t.Fatal("the read was never woken: the new poller does not watch the socket")
	}
}
