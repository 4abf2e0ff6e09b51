//go:build windows

package peer

import (
	"encoding/binary"
	"strconv"
	"testing"
	"time"
)

// The Windows fast path (fastpath_windows.go), run under wine by
// `make wine-test`.

// In lockstep Poll writes (an overlapped send of its own) on the caller's
// thread: most messages are written by Poll, every one arrives once and in
// order.
func TestWindowsPollWrites(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	for _, c := range []*Conn{r.sc, r.cc} {
		if c.cc.Load().tw == nil {
			t.Fatal("no direct write on a plain TCP connection")
		}
	}
	const n = 300
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
	written := r.cc.directOut.Load()
	t.Logf("%d messages: %d written by the client's Poll", n, written)
	if written < n/2 {
		t.Fatalf("only %d of %d written by Poll", written, n)
	}
	if r.sc.msgsIn.Load() != n {
		t.Fatalf("msgsIn %d, want %d", r.sc.msgsIn.Load(), n)
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

// Every byte Poll's send wrote goes on the wire once: a raw peer sees each
// frame once, in order, nothing after the last, and the wire count is the
// frames' size (a send counted as unwritten was written again by the writer
// goroutine: duplicated frames, found by the engine's compression test).
func TestWindowsPollWritesEachFrameOnce(t *testing.T) {
	rs := newRawServer(t, "")
	cl, cp := newClient(t, Options{})
	if err := cl.Connect(rs.url()); err != nil {
		t.Fatal(err)
	}
	raw := rs.accept(t)
	waitUntil(t, "connected", cp.step, func() bool { return cl.Status() == ClientConnected })
	c := cl.Conn()
	w0 := c.cc.Load().out.Load()
	const n = 500
	for i := 0; i < n; i++ {
		if err := c.Send([]byte(strconv.Itoa(i)), WriteText); err != nil {
			t.Fatal(err)
		}
		cp.step()
	}
	wire := 0
	for i := 0; i < n; i++ {
		f, err := raw.readFrame(testTimeout)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.op != opText || string(f.payload) != strconv.Itoa(i) {
			t.Fatalf("frame %d: op %d %q", i, f.op, f.payload)
		}
		wire += 2 + 4 + len(f.payload) // header, mask key, payload
	}
	if f, err := raw.readFrame(200 * time.Millisecond); err == nil {
		t.Fatalf("a frame after the last: op %d %q", f.op, f.payload)
	}
	cp.step()
	if got := c.cc.Load().out.Load() - w0; got != int64(wire) {
		t.Fatalf("wire bytes out %d, want %d", got, wire)
	}
	t.Logf("%d frames: %d written by Poll", n, c.directOut.Load())
	if c.directOut.Load() == 0 {
		t.Fatal("Poll wrote nothing")
	}
}
