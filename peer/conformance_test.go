package peer

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A conformance suite modelled on the Autobahn TestSuite's case groups. A raw
// TCP peer writes hand-built frames to our server (and, in the client role,
// a raw server writes them to our client); our side echoes every message
// back. Each case states its expected outcome on the wire and checks it, and
// checks what our Poll reported, and that no goroutine is left behind.
//
//	go test -run 'TestConformance$' -v ./peer/   prints the table per group

type expectKind int

const (
	expectEcho  expectKind = iota // the echoes arrive, then a normal close (1000) completes cleanly
	expectFail                    // our side fails the connection: close frame with code, then TCP end
	expectClose                   // our side answers the peer's close with this code, cleanly
)

type want struct {
	kind   expectKind
	code   int     // expectFail / expectClose: the close code our side sends (0: TCP drop, no close frame)
	echoes []frame // expectEcho: op and payload of each frame we must send back
	err    error   // expectFail: what EventDisconnected.Err must match (errors.Is), when set
}

func echo(fs ...frame) want     { return want{kind: expectEcho, echoes: fs} }
func fail(code int) want        { return want{kind: expectFail, code: code} }
func answerClose(code int) want { return want{kind: expectClose, code: code} }
func (w want) because(err error) want {
	w.err = err
	return w
}

func text(s string) frame     { return frame{fin: true, op: opText, payload: []byte(s)} }
func binFrame(b []byte) frame { return frame{fin: true, op: opBinary, payload: b} }
func pong(b []byte) frame     { return frame{fin: true, op: opPong, payload: b} }
func ping(b []byte) frame     { return frame{fin: true, op: opPing, payload: b} }
func closeFrame(p []byte) frame {
	return frame{fin: true, op: opClose, payload: p}
}
func frag(op byte, fin bool, s string) frame { return frame{fin: fin, op: op, payload: []byte(s)} }

// put writes b; an error ends the case's sending (our side may have failed
// the connection already; what it sent is checked afterwards).
func (p *rawPeer) put(b []byte) bool {
	_ = p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := p.conn.Write(b)
	return err == nil
}

// sendFrames writes each frame (masked when the raw peer is a client) in
// one TCP write per frame.
func sendFrames(fs ...frame) func(p *rawPeer) {
	return func(p *rawPeer) {
		for _, f := range fs {
			f.masked = p.client
			if !p.put(rawFrame(f, -1)) {
				return
			}
		}
	}
}

// afterEcho sends good, waits for its echo, then sends bad.
func afterEcho(good frame, bad ...frame) func(p *rawPeer) {
	return func(p *rawPeer) {
		sendFrames(good)(p)
		if f, err := p.readEcho(5 * time.Second); err != nil || f.op != good.op || !bytes.Equal(f.payload, good.payload) {
			p.t.Errorf("echo of the good message: %v, op %#x %q", err, f.op, f.payload)
		}
		sendFrames(bad...)(p)
	}
}

// trickle writes the frames one byte per TCP write (Nagle off), so our side
// sees every header and payload cut at every possible place.
func trickle(fs ...frame) func(p *rawPeer) {
	return func(p *rawPeer) {
		var b []byte
		for _, f := range fs {
			f.masked = p.client
			b = append(b, rawFrame(f, -1)...)
		}
		if tc, ok := p.conn.(interface{ SetNoDelay(bool) error }); ok {
			_ = tc.SetNoDelay(true)
		}
		for i := range b {
			if !p.put(b[i : i+1]) {
				return
			}
		}
	}
}

// split cuts payload into n fragments of a message with opcode op.
func split(op byte, payload []byte, n int) []frame {
	var fs []frame
	for i := 0; i < n; i++ {
		a, b := len(payload)*i/n, len(payload)*(i+1)/n
		o := byte(opCont)
		if i == 0 {
			o = op
		}
		fs = append(fs, frame{fin: i == n-1, op: o, payload: payload[a:b]})
	}
	return fs
}

// Which of our sides a case runs against.
const (
	bothRoles  = ""
	serverOnly = "server"
	clientOnly = "client"
)

type confCase struct {
	group, name string
	only        string // bothRoles, serverOnly or clientOnly
	send        func(p *rawPeer)
	want        want
	opts        Options
}

func conformanceCases() []confCase {
	var cs []confCase
	add := func(group, name string, send func(*rawPeer), w want) {
		cs = append(cs, confCase{group: group, name: name, send: send, want: w})
	}
	big := func(n int) []byte { return bytes.Repeat([]byte("*"), n) }

	// Framing: payload lengths around the 7/16/64-bit length encodings.
	for _, n := range []int{0, 125, 126, 127, 65535, 65536, 1 << 20} {
		add("framing", fmt.Sprintf("text %d bytes", n), sendFrames(text(string(big(n)))), echo(text(string(big(n)))))
		add("framing", fmt.Sprintf("binary %d bytes", n), sendFrames(binFrame(big(n))), echo(binFrame(big(n))))
	}
	// The same sizes in 3 fragments, delivered in 1-byte TCP writes.
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		add("framing", fmt.Sprintf("text %d bytes, 3 fragments, 1-byte writes", n), trickle(split(opText, big(n), 3)...), echo(text(string(big(n)))))
		add("framing", fmt.Sprintf("binary %d bytes, 3 fragments, 1-byte writes", n), trickle(split(opBinary, big(n), 3)...), echo(binFrame(big(n))))
	}
	add("framing", "two messages in one TCP write", func(p *rawPeer) {
		p.put(append(rawFrame(frame{fin: true, op: opText, payload: []byte("a"), masked: p.client}, -1),
			rawFrame(frame{fin: true, op: opBinary, payload: []byte("b"), masked: p.client}, -1)...))
	}, echo(text("a"), binFrame([]byte("b"))))
	cs = append(cs,
		confCase{group: "framing", name: "unmasked client frame", only: serverOnly, send: func(p *rawPeer) {
			p.put(rawFrame(frame{fin: true, op: opText, payload: []byte("x")}, -1))
		}, want: fail(1002)},
		confCase{group: "framing", name: "masked server frame", only: clientOnly, send: func(p *rawPeer) {
			p.put(rawFrame(frame{fin: true, op: opText, payload: []byte("x"), masked: true}, -1))
		}, want: fail(1002)},
	)

	// Ping / pong.
	add("ping-pong", "ping without payload", sendFrames(ping(nil)), echo(pong(nil)))
	add("ping-pong", "ping with payload", sendFrames(ping([]byte("hello"))), echo(pong([]byte("hello"))))
	add("ping-pong", "ping with binary payload", sendFrames(ping([]byte{0, 0xff, 0xfe, 0x80})), echo(pong([]byte{0, 0xff, 0xfe, 0x80})))
	add("ping-pong", "ping with 125-byte payload", sendFrames(ping(big(125))), echo(pong(big(125))))
	add("ping-pong", "ping with 126-byte payload", sendFrames(ping(big(126))), fail(1002))
	add("ping-pong", "ping in 1-byte writes", trickle(ping([]byte("slow"))), echo(pong([]byte("slow"))))
	add("ping-pong", "fragmented ping", sendFrames(frame{op: opPing, payload: []byte("a")}, frag(opCont, true, "b")), fail(1002))
	add("ping-pong", "unsolicited pong is ignored", sendFrames(pong([]byte("hi")), text("after")), echo(text("after")))
	add("ping-pong", "unsolicited empty pong is ignored", sendFrames(pong(nil), text("after")), echo(text("after")))
	add("ping-pong", "pong with 126-byte payload", sendFrames(pong(big(126))), fail(1002))
	add("ping-pong", "fragmented pong", sendFrames(frame{op: opPong, payload: []byte("a")}, frag(opCont, true, "b")), fail(1002))
	add("ping-pong", "ten pings", sendFrames(func() []frame {
		var fs []frame
		for i := 0; i < 10; i++ {
			fs = append(fs, ping([]byte{byte(i)}))
		}
		return fs
	}()...), func() want {
		var fs []frame
		for i := 0; i < 10; i++ {
			fs = append(fs, pong([]byte{byte(i)}))
		}
		return echo(fs...)
	}())

	// Reserved bits (no extension negotiated).
	for _, rsv := range []byte{0x40, 0x20, 0x10, 0x60, 0x70} {
		add("reserved bits", fmt.Sprintf("RSV %#x on text", rsv), sendFrames(frame{fin: true, rsv: rsv, op: opText, payload: []byte("x")}), fail(1002))
	}
	add("reserved bits", "RSV1 on binary", sendFrames(frame{fin: true, rsv: 0x40, op: opBinary, payload: []byte("x")}), fail(1002))
	add("reserved bits", "RSV1 on ping", sendFrames(frame{fin: true, rsv: 0x40, op: opPing}), fail(1002))
	add("reserved bits", "RSV2 on close", sendFrames(frame{fin: true, rsv: 0x20, op: opClose, payload: closePayload(1000, "")}), fail(1002))
	add("reserved bits", "RSV3 on a continuation", sendFrames(frag(opText, false, "a"), frame{fin: true, rsv: 0x10, op: opCont, payload: []byte("b")}), fail(1002))
	add("reserved bits", "RSV1 after a good message", afterEcho(text("ok"), frame{fin: true, rsv: 0x40, op: opText, payload: []byte("x")}), fail(1002))

	// Opcodes.
	for _, op := range []byte{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		add("opcodes", fmt.Sprintf("reserved opcode %#x", op), sendFrames(frame{fin: true, op: op, payload: []byte("x")}), fail(1002))
	}
	add("opcodes", "reserved opcode 0x3 without payload", sendFrames(frame{fin: true, op: 3}), fail(1002))
	add("opcodes", "reserved opcode 0xB inside a fragmented message", sendFrames(frag(opText, false, "a"), frame{fin: true, op: 0xB}, frag(opCont, true, "b")), fail(1002))

	// Fragmentation.
	add("fragmentation", "text in 3 fragments", sendFrames(frag(opText, false, "fra"), frag(opCont, false, "gme"), frag(opCont, true, "nts")), echo(text("fragments")))
	add("fragmentation", "binary in 2 fragments", sendFrames(frag(opBinary, false, "ab"), frag(opCont, true, "cd")), echo(binFrame([]byte("abcd"))))
	add("fragmentation", "binary in 100 fragments", sendFrames(split(opBinary, big(1000), 100)...), echo(binFrame(big(1000))))
	add("fragmentation", "ping between fragments", sendFrames(frag(opText, false, "a"), ping([]byte("p")), frag(opCont, true, "b")), echo(pong([]byte("p")), text("ab")))
	add("fragmentation", "pong between fragments", sendFrames(frag(opText, false, "a"), pong([]byte("p")), frag(opCont, true, "b")), echo(text("ab")))
	add("fragmentation", "empty fragments", sendFrames(frag(opText, false, ""), frag(opCont, false, ""), frag(opCont, true, "")), echo(text("")))
	add("fragmentation", "continuation without start", sendFrames(frag(opCont, true, "x")), fail(1002))
	add("fragmentation", "continuation not final without start", sendFrames(frag(opCont, false, "x")), fail(1002))
	add("fragmentation", "continuation after a complete message", afterEcho(text("a"), frag(opCont, true, "x")), fail(1002))
	add("fragmentation", "new text frame inside a fragmented message", sendFrames(frag(opText, false, "a"), frag(opText, true, "b")), fail(1002))
	add("fragmentation", "new binary frame inside a fragmented message", sendFrames(frag(opBinary, false, "a"), frag(opBinary, true, "b")), fail(1002))
	add("fragmentation", "fragmented close", sendFrames(frame{op: opClose, payload: closePayload(1000, "")}, frag(opCont, true, "")), fail(1002))

	// UTF-8 handling.
	split4 := func(s string) []frame { return split(opText, []byte(s), len(s)) }
	add("utf-8", "valid multi-byte text", sendFrames(text("κόσμε 😀")), echo(text("κόσμε 😀")))
	add("utf-8", "valid 2-byte sequence split across fragments", sendFrames(split(opText, []byte("κ"), 2)...), echo(text("κ")))
	add("utf-8", "valid 3-byte sequence split across 3 fragments", sendFrames(split4("€")...), echo(text("€")))
	add("utf-8", "valid 4-byte sequence split across 4 fragments", sendFrames(split4("😀")...), echo(text("😀")))
	add("utf-8", "valid text, one fragment per byte", sendFrames(split4("Hello-µ@ßöäüàá-UTF-8!!")...), echo(text("Hello-µ@ßöäüàá-UTF-8!!")))
	add("utf-8", "valid text in 1-byte writes", trickle(text("κόσμε")), echo(text("κόσμε")))
	add("utf-8", "largest code point U+10FFFF", sendFrames(text("\U0010FFFF")), echo(text("\U0010FFFF")))
	invalid := []struct {
		name string
		b    []byte
	}{
		{"invalid byte 0xff", []byte{'a', 0xff}},
		{"lone continuation byte", []byte{0x80}},
		{"surrogate half U+D800", []byte{0xed, 0xa0, 0x80}},
		{"overlong encoding of '/'", []byte{0xc0, 0xaf}},
		{"overlong NUL", []byte{0xe0, 0x80, 0x80}},
		{"code point above U+10FFFF", []byte{0xf4, 0x90, 0x80, 0x80}},
		{"truncated sequence at the end", []byte{'o', 'k', 0xce}},
	}
	for _, c := range invalid {
		add("utf-8", c.name, sendFrames(frame{fin: true, op: opText, payload: c.b}), fail(1007).because(ErrInvalidUTF8))
	}
	add("utf-8", "invalid byte in the last fragment", sendFrames(frag(opText, false, "ok"), frame{fin: true, op: opCont, payload: []byte{0xff}}), fail(1007).because(ErrInvalidUTF8))
	add("utf-8", "invalid byte in a middle fragment", sendFrames(frag(opText, false, "ok"), frame{op: opCont, payload: []byte{0xff}}, frag(opCont, true, "ok")), fail(1007).because(ErrInvalidUTF8))
	add("utf-8", "sequence truncated at a fragment end, ASCII next", sendFrames(frame{op: opText, payload: []byte{0xce}}, frag(opCont, true, "a")), fail(1007).because(ErrInvalidUTF8))
	add("utf-8", "invalid text in 1-byte writes", trickle(frame{fin: true, op: opText, payload: []byte{'a', 0xed, 0xa0, 0x80}}), fail(1007).because(ErrInvalidUTF8))
	add("utf-8", "binary may hold any bytes", sendFrames(binFrame([]byte{0xff, 0xfe})), echo(binFrame([]byte{0xff, 0xfe})))

	// Close handling.
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		add("close", fmt.Sprintf("close %d is answered", code), sendFrames(closeFrame(closePayload(code, "bye"))), answerClose(code))
	}
	add("close", "close without status is answered without status", sendFrames(closeFrame(nil)), answerClose(1005))
	add("close", "close with 123-byte reason", sendFrames(closeFrame(closePayload(1000, strings.Repeat("r", 123)))), answerClose(1000))
	add("close", "close with a UTF-8 reason", sendFrames(closeFrame(closePayload(1000, "κόσμε"))), answerClose(1000))
	add("close", "close in 1-byte writes", trickle(closeFrame(closePayload(1001, "slow"))), answerClose(1001))
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		add("close", fmt.Sprintf("close code %d on the wire", code), sendFrames(closeFrame(closePayload(code, ""))), fail(1002))
	}
	add("close", "close with a 1-byte payload", sendFrames(closeFrame([]byte{0x03})), fail(1002))
	add("close", "close reason of invalid UTF-8", sendFrames(closeFrame(append(closePayload(1000, "ok"), 0xff, 0xfe))), fail(1007).because(ErrInvalidUTF8))
	add("close", "close reason with a surrogate half", sendFrames(closeFrame(append(closePayload(1001, ""), 0xed, 0xa0, 0x80))), fail(1007).because(ErrInvalidUTF8))
	add("close", "close reason of invalid UTF-8 in 1-byte writes", trickle(closeFrame(append(closePayload(1000, ""), 0xc0, 0xaf))), fail(1007).because(ErrInvalidUTF8))
	add("close", "close with 126-byte payload", sendFrames(closeFrame(closePayload(1000, strings.Repeat("r", 124)))), fail(1002))
	add("close", "data after close is ignored", sendFrames(closeFrame(closePayload(1000, "")), text("late")), answerClose(1000))
	add("close", "ping after close is ignored", sendFrames(closeFrame(closePayload(1000, "")), ping([]byte("late"))), answerClose(1000))
	add("close", "close after a fragment", sendFrames(frag(opText, false, "a"), closeFrame(closePayload(1000, ""))), answerClose(1000))

	// Limits (InboundBufferSize is 64 KiB in these cases).
	limit := Options{InboundBufferSize: 64 << 10}
	cs = append(cs,
		confCase{group: "limits", name: "message at the limit", opts: limit, send: sendFrames(binFrame(big(64 << 10))), want: echo(binFrame(big(64 << 10)))},
		confCase{group: "limits", name: "message one byte over the limit", opts: limit, send: sendFrames(binFrame(big(64<<10 + 1))), want: fail(1009).because(ErrMessageTooBig)},
		confCase{group: "limits", name: "fragments adding up over the limit", opts: limit, send: sendFrames(frame{op: opBinary, payload: big(40 << 10)}, frame{fin: true, op: opCont, payload: big(40 << 10)}), want: fail(1009).because(ErrMessageTooBig)},
		confCase{group: "limits", name: "many small fragments adding up over the limit", opts: limit, send: sendFrames(split(opText, big(80<<10), 80)...), want: fail(1009).because(ErrMessageTooBig)},
		confCase{group: "limits", name: "16-bit length over the limit", opts: Options{InboundBufferSize: 1000}, send: func(p *rawPeer) {
			p.put(rawFrame(frame{fin: true, op: opBinary, masked: p.client}, 1001))
		}, want: fail(1009).because(ErrMessageTooBig)},
		confCase{group: "limits", name: "64-bit length of 2^62 bytes", opts: limit, send: func(p *rawPeer) {
			p.put(rawFrame(frame{fin: true, op: opBinary, masked: p.client}, 1<<62))
		}, want: fail(1009).because(ErrMessageTooBig)},
		confCase{group: "limits", name: "64-bit length with the top bit set", opts: limit, send: func(p *rawPeer) {
			b := rawFrame(frame{fin: true, op: opBinary, masked: p.client}, 1<<62)
			b[2] |= 0x80
			p.put(b)
		}, want: fail(1002)},
	)
	return cs
}

// echoLoop polls until done is closed, sending every message back as it came.
func echoLoop(poll func([]Event) []Event, done <-chan struct{}) (events []Event) {
	for {
		n := len(events)
		events = poll(events)
		for _, ev := range events[n:] {
			if ev.Conn == nil {
				continue
			}
			for {
				m, ok := ev.Conn.Read()
				if !ok {
					break
				}
				mode := WriteBinary
				if m.Text {
					mode = WriteText
				}
				_ = ev.Conn.Send(m.Data, mode)
			}
		}
		select {
		case <-done:
			return events
		case <-time.After(200 * time.Microsecond):
		}
	}
}

// check compares what the raw peer saw with the case's expectation.
func (w want) check(o outcome) error {
	if len(o.echoes) != len(w.echoes) {
		return fmt.Errorf("got %d frames back, want %d", len(o.echoes), len(w.echoes))
	}
	for i, f := range o.echoes {
		e := w.echoes[i]
		if f.op != e.op || !bytes.Equal(f.payload, e.payload) || !f.fin || f.rsv != 0 {
			return fmt.Errorf("frame %d: op %#x, %d bytes, fin %v, rsv %#x; want op %#x, %d bytes",
				i, f.op, len(f.payload), f.fin, f.rsv, e.op, len(e.payload))
		}
	}
	code := w.code
	if w.kind == expectEcho {
		code = 1000
	}
	if o.closeCode != code || !o.dropped {
		return fmt.Errorf("close code %d, TCP ended %v; want code %d and an end", o.closeCode, o.dropped, code)
	}
	return nil
}

// checkEvents compares what our Poll reported with the case's expectation.
func (w want) checkEvents(events []Event) error {
	var (
		closeReq *Event
		disc     []Event
	)
	for i, ev := range events {
		switch ev.Kind {
		case EventCloseRequest:
			closeReq = &events[i]
		case EventDisconnected:
			disc = append(disc, ev)
		case EventConnectError:
			return fmt.Errorf("EventConnectError: %v", ev.Err)
		}
	}
	if len(disc) != 1 {
		return fmt.Errorf("%d EventDisconnected, want 1", len(disc))
	}
	d := disc[0]
	switch w.kind {
	case expectEcho, expectClose:
		code := w.code
		if w.kind == expectEcho {
			code = 1000
		}
		if closeReq == nil || closeReq.Code != code {
			return fmt.Errorf("EventCloseRequest %+v, want code %d", closeReq, code)
		}
		if !d.Clean || d.Code != code || d.Err != nil {
			return fmt.Errorf("EventDisconnected clean %v code %d err %v; want clean with code %d", d.Clean, d.Code, d.Err, code)
		}
	case expectFail:
		if closeReq != nil {
			return fmt.Errorf("EventCloseRequest %d for a connection our side failed", closeReq.Code)
		}
		if d.Clean || d.Code != -1 || d.Err == nil {
			return fmt.Errorf("EventDisconnected clean %v code %d err %v; want unclean with an error", d.Clean, d.Code, d.Err)
		}
		if w.err != nil && !errors.Is(d.Err, w.err) {
			return fmt.Errorf("EventDisconnected err %v, want %v", d.Err, w.err)
		}
	}
	return nil
}

// runCase plays one case from the raw peer p against our side (polled by
// poll, echoing) and checks both ends. Frames our client sends must be
// masked, our server's must not.
func runCase(t *testing.T, c confCase, p *rawPeer, poll func([]Event) []Event, ourClient bool) {
	done := make(chan struct{})
	var o outcome
	go func() {
		defer close(done)
		c.send(p)
		if c.want.kind == expectEcho {
			// Read the echoes, then close normally.
			for range c.want.echoes {
				f, err := p.readEcho(5 * time.Second)
				if err != nil {
					break
				}
				if f.masked != ourClient {
					f.op = 0xFF // wrong masking: make the check fail
				}
				o.echoes = append(o.echoes, f)
			}
			p.put(rawFrame(frame{fin: true, op: opClose, payload: closePayload(1000, ""), masked: p.client}, -1))
		}
		rest := p.collect(3 * time.Second)
		o.closeCode, o.dropped = rest.closeCode, rest.dropped
		for _, f := range rest.echoes {
			if f.masked != ourClient {
				f.op = 0xFF
			}
			o.echoes = append(o.echoes, f)
		}
		p.conn.Close() // as a peer does once the connection ended
	}()
	events := echoLoop(poll, done)
	if err := c.want.check(o); err != nil {
		t.Fatal(err)
	}
	// Our side must report the end of the connection, once.
	waitUntil(t, "EventDisconnected", func() { events = poll(events) }, func() bool {
		for _, ev := range events {
			if ev.Kind == EventDisconnected {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Millisecond)
	events = poll(events)
	if err := c.want.checkEvents(events); err != nil {
		t.Fatal(err)
	}
	if c.want.kind == expectFail && c.want.code != 0 {
		// Our close frame went out under writeMu, as every write of ours
		// (not from gorilla's reader without it), and stopped our data
		// frames (closeSent).
		for _, ev := range events {
			if ev.Kind == EventDisconnected && !ev.Conn.closeSent {
				t.Fatalf("close %d was not written by our side (closeSent false)", c.want.code)
			}
		}
	}
}

// role is the side of ours a case runs against, over TCP or TLS.
type role struct {
	name string
	side string // serverOnly or clientOnly
	tls  bool
}

var roles = []role{{"server", serverOnly, false}, {"client", clientOnly, false}, {"wss server", serverOnly, true}, {"wss client", clientOnly, true}}

// runConformance runs one case against our server or our client.
func runConformance(t *testing.T, r role, c confCase) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // runs last, after the server or client is shut down
	if c.opts.CloseTimeout == 0 {
		c.opts.CloseTimeout = 2 * time.Second
	}
	var cert tls.Certificate
	var pool *x509.CertPool
	if r.tls {
		cert, pool = testCert(t)
	}
	if r.side == serverOnly {
		if r.tls {
			c.opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		}
		srv, _ := newServer(t, c.opts)
		var p *rawPeer
		if r.tls {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp",
				fmt.Sprintf("127.0.0.1:%d", srv.Port()), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			p = upgradeRaw(t, conn, "")
		} else {
			p = dialRaw(t, srv, "")
		}
		runCase(t, c, p, srv.Poll, false)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/"
	if r.tls {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		c.opts.TLS = &tls.Config{RootCAs: pool}
		url = "wss://" + ln.Addr().String() + "/"
	}
	rs := newRawServerOn(t, ln, "")
	cl, _ := newClient(t, c.opts)
	if err := cl.Connect(url); err != nil {
		t.Fatal(err)
	}
	runCase(t, c, rs.accept(t), cl.Poll, true)
}

// tally counts passed and run cases per group and role.
type tally map[string]map[string][2]int // group -> role -> passed, total

func (t tally) add(group, role string, ok bool) {
	if t[group] == nil {
		t[group] = map[string][2]int{}
	}
	v := t[group][role]
	v[1]++
	if ok {
		v[0]++
	}
	t[group][role] = v
}

func (t tally) String() string {
	groups := make([]string, 0, len(t))
	for g := range t {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s", "group")
	for _, r := range roles {
		fmt.Fprintf(&b, " %11s", r.name)
	}
	b.WriteString("\n")
	line := func(g string, row map[string][2]int) {
		fmt.Fprintf(&b, "%-14s", g)
		for _, r := range roles {
			fmt.Fprintf(&b, " %11s", fmt.Sprintf("%d/%d", row[r.name][0], row[r.name][1]))
		}
		b.WriteString("\n")
	}
	total := map[string][2]int{}
	for _, g := range groups {
		line(g, t[g])
		for r, v := range t[g] {
			total[r] = [2]int{total[r][0] + v[0], total[r][1] + v[1]}
		}
	}
	line("total", total)
	return b.String()
}

// TestConformance runs every case against our server (raw client) and our
// client (raw server), over TCP and over TLS, and prints the cases passed
// per group.
func TestConformance(t *testing.T) {
	results := tally{}
	for _, r := range roles {
		for _, c := range conformanceCases() {
			if c.only != bothRoles && c.only != r.side {
				continue
			}
			ran := false
			ok := t.Run(r.name+"/"+c.group+"/"+c.name, func(t *testing.T) {
				ran = true
				runConformance(t, r, c)
			})
			if ran { // not filtered out by -run
				results.add(c.group, r.name, ok)
			}
		}
	}
	t.Logf("conformance cases passed (our server against a raw client, our client against a raw server; over TCP and over TLS):\n%s", results)
}
