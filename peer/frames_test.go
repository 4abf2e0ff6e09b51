package peer

import (
	"bytes"
	"testing"
	"time"
)

// Data frames we write ourselves (writeFrame, without permessage-deflate)
// as a strict raw peer reads them: one final frame per message, the right
// opcode, masked from a client and not from a server, the shortest length
// encoding (RFC 6455 5.2), the payload intact, and several messages queued
// before one Poll in order.
func TestOwnFramesOnTheWire(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 65535, 65536, 300000}
	payload := func(n, seed int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + (i+seed)%26) // valid UTF-8 for text frames
		}
		return b
	}
	wantExt := func(n int) int {
		switch {
		case n < 126:
			return 0
		case n <= 0xFFFF:
			return 2
		}
		return 8
	}
	check := func(t *testing.T, p *rawPeer, masked bool, sends []outMsg) {
		t.Helper()
		for i, m := range sends {
			f, err := p.readFrame(testTimeout)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			op := byte(opBinary)
			if m.text {
				op = opText
			}
			if !f.fin || f.rsv != 0 || f.op != op || f.masked != masked || f.extLen != wantExt(len(*m.b)) {
				t.Fatalf("frame %d (%d bytes): fin %v rsv %x op %d masked %v extended length %d bytes",
					i, len(*m.b), f.fin, f.rsv, f.op, f.masked, f.extLen)
			}
			if !bytes.Equal(f.payload, *m.b) {
				t.Fatalf("frame %d: payload of %d bytes differs", i, len(*m.b))
			}
		}
	}
	var sends []outMsg
	for i, n := range sizes {
		b := payload(n, i)
		sends = append(sends, outMsg{b: &b, text: i%2 == 0})
	}
	send := func(t *testing.T, c *Conn, step func()) {
		t.Helper()
		for _, m := range sends {
			mode := WriteBinary
			if m.text {
				mode = WriteText
			}
			for c.Send(*m.b, mode) == ErrOutboundFull {
				step()
				time.Sleep(time.Millisecond)
			}
		}
		step() // one Poll writes what it can; the writer the rest
	}

	t.Run("client", func(t *testing.T) {
		rs := newRawServer(t, "")
		cl, cp := newClient(t, Options{OutboundBufferSize: 1 << 20})
		if err := cl.Connect(rs.url()); err != nil {
			t.Fatal(err)
		}
		p := rs.accept(t)
		waitUntil(t, "connected", cp.step, func() bool { return cl.Conn() != nil && cl.Conn().State() == StateOpen })
		if !cl.Conn().ownFrames {
			t.Fatal("a plain connection without compression should write its own frames")
		}
		go send(t, cl.Conn(), cp.step)
		check(t, p, true, sends)
	})
	t.Run("server", func(t *testing.T) {
		srv, sp := newServer(t, Options{OutboundBufferSize: 1 << 20})
		p := dialRaw(t, srv, "")
		var sc *Conn
		waitUntil(t, "connected", sp.step, func() bool {
			if ev, ok := sp.find(EventConnected, nil); ok {
				sc = ev.Conn
			}
			return sc != nil
		})
		go send(t, sc, sp.step)
		check(t, p, false, sends)
	})
}
