package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTextAndBinaryBothWays(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	bin := []byte{0, 1, 2, 0xff, 0xfe}
	for _, c := range []*Conn{r.cc, r.sc} {
		if err := c.Send([]byte("héllo"), WriteText); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(bin, WriteBinary); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(nil, WriteBinary); err != nil {
			t.Fatal(err)
		}
		if err := c.Send([]byte{0xff, 0xfe}, WriteText); !errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("invalid UTF-8 text: got %v", err)
		}
		if err := c.Send(bin, WriteMode(7)); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("bad mode: got %v", err)
		}
	}
	for _, c := range []*Conn{r.sc, r.cc} {
		r.until("3 messages", func() bool { return c.Available() == 3 })
		m, _ := c.Read()
		if !m.Text || string(m.Data) != "héllo" {
			t.Fatalf("text: got %+v", m)
		}
		m, _ = c.Read()
		if m.Text || !bytes.Equal(m.Data, bin) {
			t.Fatalf("binary: got %+v", m)
		}
		m, _ = c.Read()
		if m.Text || len(m.Data) != 0 {
			t.Fatalf("empty: got %+v", m)
		}
		if _, ok := c.Read(); ok || c.Available() != 0 {
			t.Fatal("extra message")
		}
	}
	// One EventMessage per message, each naming its Conn.
	if n := r.sp.count(EventMessage); n != 3 {
		t.Fatalf("server EventMessage count %d", n)
	}
	if ev, _ := r.sp.find(EventMessage, nil); ev.Conn != r.sc || ev.ID != r.sc.ID() {
		t.Fatalf("event conn/id mismatch: %+v", ev)
	}
}

// 10,000 messages each way at once arrive complete and in order.
func TestOrdering10kBothWays(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	const n = 10000
	var buf [8]byte
	nextIn := map[*Conn]uint64{r.cc: 0, r.sc: 0}
	check := func() {
		for c := range nextIn {
			for {
				m, ok := c.Read()
				if !ok {
					break
				}
				got := binary.BigEndian.Uint64(m.Data[:8])
				if got != nextIn[c] || len(m.Data) != 8+int(got%100) {
					t.Fatalf("out of order or corrupt: got %d (len %d) want %d", got, len(m.Data), nextIn[c])
				}
				nextIn[c]++
			}
		}
	}
	step := func() { r.step(); check() }
	pad := make([]byte, 8+100)
	for i := uint64(0); i < n; i++ {
		binary.BigEndian.PutUint64(buf[:], i)
		copy(pad, buf[:])
		sendRetry(t, r.cc, pad[:8+i%100], WriteBinary, step)
		sendRetry(t, r.sc, pad[:8+i%100], WriteBinary, step)
	}
	r.until("all messages", func() bool { check(); return nextIn[r.cc] == n && nextIn[r.sc] == n })
	st := r.cc.Stats()
	if st.MessagesOut != n || st.MessagesIn != n {
		t.Fatalf("client stats %+v", st)
	}
}

func TestLargeMessageWithRaisedLimit(t *testing.T) {
	o := Options{InboundBufferSize: 2 << 20, OutboundBufferSize: 2 << 20}
	r := newRig(t, o, o)
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := r.cc.Send(big, WriteBinary); err != nil {
		t.Fatal(err)
	}
	var m Message
	r.until("1 MiB at server", func() bool { var ok bool; m, ok = r.sc.Read(); return ok })
	if !bytes.Equal(m.Data, big) {
		t.Fatal("1 MiB message corrupted")
	}
	if err := r.sc.Send(m.Data, WriteBinary); err != nil {
		t.Fatal(err)
	}
	r.until("1 MiB back at client", func() bool { var ok bool; m, ok = r.cc.Read(); return ok })
	if !bytes.Equal(m.Data, big) {
		t.Fatal("1 MiB echo corrupted")
	}
}

func TestOversizedMessageCloses1009(t *testing.T) {
	r := newRig(t, Options{InboundBufferSize: 64 << 10}, Options{})
	if err := r.cc.Send(make([]byte, 100<<10), WriteBinary); err != nil {
		t.Fatal(err)
	}
	r.until("both disconnected", func() bool {
		_, a := r.cp.find(EventDisconnected, nil)
		_, b := r.sp.find(EventDisconnected, nil)
		return a && b
	})
	req, ok := r.cp.find(EventCloseRequest, nil)
	if !ok || req.Code != 1009 {
		t.Fatalf("client close request: %+v %v", req, ok)
	}
	cd, _ := r.cp.find(EventDisconnected, nil)
	if !cd.Clean || cd.Code != 1009 || r.cc.CloseCode() != 1009 {
		t.Fatalf("client disconnect: %+v", cd)
	}
	sd, _ := r.sp.find(EventDisconnected, nil)
	if sd.Clean || sd.Code != -1 || !errors.Is(sd.Err, ErrMessageTooBig) {
		t.Fatalf("server disconnect: %+v", sd)
	}
	if r.sc.Available() != 0 {
		t.Fatal("oversized message was delivered")
	}
}

// A reader that does not Read stops the socket instead of dropping or
// growing; once it reads, everything arrives in order.
func TestBackPressureSlowReader(t *testing.T) {
	const maxPk, inBuf = 16, 64 << 10
	r := newRig(t, Options{InboundBufferSize: inBuf, MaxQueuedPackets: maxPk},
		Options{OutboundBufferSize: 64 << 20, MaxQueuedPackets: 100000})
	const n, size = 3000, 4 << 10
	msg := make([]byte, size)
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint32(msg, uint32(i))
		if err := r.cc.Send(msg, WriteBinary); err != nil {
			t.Fatal(err)
		}
	}
	// Without reading, the server queue fills to its limit and stops there,
	// while the client still holds data it could not write.
	r.until("server queue full", func() bool { return r.sc.Available() == maxPk })
	time.Sleep(100 * time.Millisecond)
	r.step()
	if a := r.sc.Available(); a != maxPk {
		t.Fatalf("server queue grew past its limit: %d", a)
	}
	if q := r.sc.Stats().QueuedIn; q > inBuf {
		t.Fatalf("queued bytes %d over %d", q, inBuf)
	}
	if r.cc.BufferedAmount() == 0 {
		t.Fatal("client drained everything although the server did not read (no back-pressure?)")
	}
	got := 0
	r.until("all messages after reading", func() bool {
		for {
			m, ok := r.sc.Read()
			if !ok {
				break
			}
			if int(binary.BigEndian.Uint32(m.Data)) != got || len(m.Data) != size {
				t.Fatalf("message %d out of order", got)
			}
			got++
		}
		return got == n
	})
}

// A peer that does not read makes Send fail fast with ErrOutboundFull;
// nothing accepted is lost once it reads again.
func TestOutboundFull(t *testing.T) {
	const outBuf = 256 << 10
	r := newRig(t, Options{InboundBufferSize: 16 << 10, MaxQueuedPackets: 4}, Options{OutboundBufferSize: outBuf})
	if err := r.cc.Send(make([]byte, outBuf+1), WriteBinary); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	msg := make([]byte, 16<<10)
	sent := 0
	deadline := time.Now().Add(testTimeout)
	for {
		binary.BigEndian.PutUint32(msg, uint32(sent))
		start := time.Now()
		err := r.cc.Send(msg, WriteBinary)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("Send blocked for %v", d)
		}
		if errors.Is(err, ErrOutboundFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sent++
		if b := r.cc.BufferedAmount(); b > outBuf {
			t.Fatalf("buffered %d over the limit", b)
		}
		if time.Now().After(deadline) {
			t.Fatal("never got ErrOutboundFull")
		}
		if sent%16 == 0 {
			r.step()
			time.Sleep(time.Millisecond)
		}
	}
	if r.cc.BufferedAmount() < outBuf-len(msg) {
		t.Fatalf("ErrOutboundFull with only %d buffered", r.cc.BufferedAmount())
	}
	got := 0
	r.until("all accepted messages", func() bool {
		for {
			m, ok := r.sc.Read()
			if !ok {
				break
			}
			if int(binary.BigEndian.Uint32(m.Data)) != got {
				t.Fatalf("message %d out of order", got)
			}
			got++
		}
		return got == sent
	})
	if r.cc.BufferedAmount() != 0 || r.cc.Stats().QueuedOut != 0 {
		t.Fatal("outbound not drained")
	}
}

func TestCloseFromClient(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	if err := r.cc.Close(4001, "bye"); err != nil {
		t.Fatal(err)
	}
	if r.cc.State() != StateClosing {
		t.Fatalf("state %v", r.cc.State())
	}
	if err := r.cc.Send([]byte("x"), WriteBinary); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("send while closing: %v", err)
	}
	if err := r.cc.Close(1000, ""); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("second close: %v", err)
	}
	r.until("both disconnected", func() bool {
		_, a := r.cp.find(EventDisconnected, nil)
		_, b := r.sp.find(EventDisconnected, nil)
		return a && b
	})
	req, ok := r.sp.find(EventCloseRequest, r.sc)
	if !ok || req.Code != 4001 || req.Reason != "bye" {
		t.Fatalf("server close request %+v", req)
	}
	sd, _ := r.sp.find(EventDisconnected, nil)
	if !sd.Clean || sd.Code != 4001 || sd.Reason != "bye" || r.sc.CloseCode() != 4001 || r.sc.CloseReason() != "bye" {
		t.Fatalf("server disconnect %+v", sd)
	}
	cd, _ := r.cp.find(EventDisconnected, nil)
	if !cd.Clean || cd.Code != 4001 || r.cc.CloseCode() != 4001 {
		t.Fatalf("client disconnect %+v", cd)
	}
	if _, ok := r.cp.find(EventCloseRequest, nil); ok {
		t.Fatal("initiator got a close request")
	}
	if r.cc.State() != StateClosed || r.sc.State() != StateClosed || r.cl.Status() != ClientDisconnected {
		t.Fatal("states not closed")
	}
	if r.srv.Peer(r.sc.ID()) != nil {
		t.Fatal("peer still known after disconnect")
	}
}

func TestCloseFromServer(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	if err := r.srv.DisconnectPeer(r.sc.ID(), 4002, "kick"); err != nil {
		t.Fatal(err)
	}
	if err := r.srv.DisconnectPeer(9999, 1000, ""); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("unknown peer: %v", err)
	}
	r.until("both disconnected", func() bool {
		_, a := r.cp.find(EventDisconnected, nil)
		_, b := r.sp.find(EventDisconnected, nil)
		return a && b
	})
	req, _ := r.cp.find(EventCloseRequest, nil)
	if req.Code != 4002 || req.Reason != "kick" {
		t.Fatalf("client close request %+v", req)
	}
	cd, _ := r.cp.find(EventDisconnected, nil)
	if !cd.Clean || r.cc.CloseCode() != 4002 || r.cc.CloseReason() != "kick" {
		t.Fatalf("client disconnect %+v", cd)
	}
	sd, _ := r.sp.find(EventDisconnected, nil)
	if !sd.Clean || sd.Code != 4002 {
		t.Fatalf("server disconnect %+v", sd)
	}
}

// Messages queued before Close go out before the close frame; events come in order.
func TestCloseFlushesQueuedMessages(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	const n = 2000
	for i := 0; i < n; i++ {
		if err := r.cc.Send([]byte{byte(i), byte(i >> 8)}, WriteBinary); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.cc.Close(1000, "done"); err != nil {
		t.Fatal(err)
	}
	r.until("server disconnected", func() bool { _, ok := r.sp.find(EventDisconnected, nil); return ok })
	var kinds []EventKind
	for _, ev := range r.sp.events[1:] {
		kinds = append(kinds, ev.Kind)
	}
	if len(kinds) != n+2 || kinds[n] != EventCloseRequest || kinds[n+1] != EventDisconnected {
		t.Fatalf("server events: %d events, tail %v", len(kinds), kinds[max(0, len(kinds)-3):])
	}
	for i := 0; i < n; i++ {
		m, ok := r.sc.Read()
		if !ok || int(m.Data[0])|int(m.Data[1])<<8 != i {
			t.Fatalf("message %d missing or out of order", i)
		}
	}
	sd, _ := r.sp.find(EventDisconnected, nil)
	if !sd.Clean || sd.Reason != "done" {
		t.Fatalf("server disconnect %+v", sd)
	}
}

func TestCloseArgumentValidation(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	if err := r.cc.Close(1000, strings.Repeat("x", 124)); !errors.Is(err, ErrReasonTooLong) {
		t.Fatalf("124-byte reason: %v", err)
	}
	if err := r.cl.Disconnect(1000, strings.Repeat("é", 62)); !errors.Is(err, ErrReasonTooLong) {
		t.Fatalf("124-byte reason via Disconnect: %v", err)
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000} {
		if err := r.cc.Close(code, ""); !errors.Is(err, ErrInvalidCloseCode) {
			t.Fatalf("code %d: %v", code, err)
		}
	}
	if r.cc.State() != StateOpen {
		t.Fatal("a rejected Close changed the state")
	}
	reason := strings.Repeat("r", 123)
	if err := r.cc.Close(3000, reason); err != nil {
		t.Fatalf("123-byte reason: %v", err)
	}
	r.until("server close request", func() bool { _, ok := r.sp.find(EventCloseRequest, nil); return ok })
	if ev, _ := r.sp.find(EventCloseRequest, nil); ev.Code != 3000 || ev.Reason != reason {
		t.Fatalf("close request %+v", ev)
	}
}

// Close(-1) drops the connection: both sides see an unclean end with code -1.
func TestUncleanClose(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	if err := r.cc.Close(-1, ""); err != nil {
		t.Fatal(err)
	}
	r.until("both disconnected", func() bool {
		_, a := r.cp.find(EventDisconnected, nil)
		_, b := r.sp.find(EventDisconnected, nil)
		return a && b
	})
	for _, p := range []*poller{r.cp, r.sp} {
		ev, _ := p.find(EventDisconnected, nil)
		if ev.Clean || ev.Code != -1 || ev.Err == nil || ev.Conn.CloseCode() != -1 {
			t.Fatalf("disconnect %+v", ev)
		}
	}
	if _, ok := r.sp.find(EventCloseRequest, nil); ok {
		t.Fatal("close request on an unclean close")
	}
}
