package peer

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// A conformance suite modelled on the Autobahn TestSuite's case groups. A raw
// TCP peer writes hand-built frames to our server (and, in the client cases,
// our client talks to a raw server); our side echoes every message back. Each
// case states its expected outcome and checks it.

type expectKind int

const (
	expectEcho  expectKind = iota // the echoes arrive, then a normal close completes
	expectFail                    // our side fails the connection with a close code
	expectClose                   // our side answers a close with this code
)

// drop: our side ends the TCP connection without a close frame (close code 0).
func drop() want { return want{kind: expectFail, code: 0} }

type want struct {
	kind   expectKind
	code   int     // expectFail / expectClose: the close code our side sends
	echoes []frame // expectEcho: op and payload of each frame we must send back
}

type confCase struct {
	group, name string
	send        func(p *rawPeer) // what the raw peer writes
	want        want
	opts        Options
}

func echo(fs ...frame) want     { return want{kind: expectEcho, echoes: fs} }
func fail(code int) want        { return want{kind: expectFail, code: code} }
func answerClose(code int) want { return want{kind: expectClose, code: code} }
func text(s string) frame       { return frame{fin: true, op: opText, payload: []byte(s)} }
func binFrame(b []byte) frame   { return frame{fin: true, op: opBinary, payload: b} }
func pong(b []byte) frame       { return frame{fin: true, op: opPong, payload: b} }
func sendFrames(fs ...frame) func(p *rawPeer) {
	return func(p *rawPeer) {
		for _, f := range fs {
			f.masked = p.client
			p.write(rawFrame(f, -1))
		}
	}
}

func frag(op byte, fin bool, s string) frame { return frame{fin: fin, op: op, payload: []byte(s)} }

func serverCases() []confCase {
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
	add("framing", "300-byte text in 1-byte TCP writes", func(p *rawPeer) {
		for _, b := range rawFrame(frame{fin: true, op: opText, payload: big(300), masked: true}, -1) {
			p.write([]byte{b})
		}
	}, echo(text(string(big(300)))))
	add("framing", "unmasked client frame", func(p *rawPeer) {
		p.write(rawFrame(frame{fin: true, op: opText, payload: []byte("x")}, -1))
	}, fail(1002))

	// Ping / pong.
	add("ping-pong", "ping without payload", sendFrames(frame{fin: true, op: opPing}), echo(pong(nil)))
	add("ping-pong", "ping with 125-byte payload", sendFrames(frame{fin: true, op: opPing, payload: big(125)}), echo(pong(big(125))))
	add("ping-pong", "ping with 126-byte payload", sendFrames(frame{fin: true, op: opPing, payload: big(126)}), fail(1002))
	add("ping-pong", "fragmented ping", sendFrames(frame{fin: false, op: opPing, payload: []byte("a")}, frame{fin: true, op: opCont, payload: []byte("b")}), fail(1002))
	add("ping-pong", "unsolicited pong is ignored", sendFrames(pong([]byte("hi")), text("after")), echo(text("after")))
	add("ping-pong", "ten pings", sendFrames(func() []frame {
		var fs []frame
		for i := 0; i < 10; i++ {
			fs = append(fs, frame{fin: true, op: opPing, payload: []byte{byte(i)}})
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
	for _, rsv := range []byte{0x40, 0x20, 0x10, 0x70} {
		add("reserved bits", fmt.Sprintf("RSV %#x on text", rsv), sendFrames(frame{fin: true, rsv: rsv, op: opText, payload: []byte("x")}), fail(1002))
	}
	add("reserved bits", "RSV1 on ping", sendFrames(frame{fin: true, rsv: 0x40, op: opPing}), fail(1002))

	// Opcodes.
	for _, op := range []byte{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		add("opcodes", fmt.Sprintf("reserved opcode %#x", op), sendFrames(frame{fin: true, op: op, payload: []byte("x")}), fail(1002))
	}

	// Fragmentation.
	add("fragmentation", "text in 3 fragments", sendFrames(frag(opText, false, "fra"), frag(opCont, false, "gme"), frag(opCont, true, "nts")), echo(text("fragments")))
	add("fragmentation", "binary in 2 fragments", sendFrames(frag(opBinary, false, "ab"), frag(opCont, true, "cd")), echo(binFrame([]byte("abcd"))))
	add("fragmentation", "ping between fragments", sendFrames(frag(opText, false, "a"), frame{fin: true, op: opPing, payload: []byte("p")}, frag(opCont, true, "b")), echo(pong([]byte("p")), text("ab")))
	add("fragmentation", "empty fragments", sendFrames(frag(opText, false, ""), frag(opCont, false, ""), frag(opCont, true, "")), echo(text("")))
	add("fragmentation", "continuation without start", sendFrames(frag(opCont, true, "x")), fail(1002))
	add("fragmentation", "continuation not final without start", sendFrames(frag(opCont, false, "x")), fail(1002))
	add("fragmentation", "new data frame inside a fragmented message", sendFrames(frag(opText, false, "a"), frag(opText, true, "b")), fail(1002))

	// UTF-8 handling.
	add("utf-8", "valid multi-byte text", sendFrames(text("κόσμε 😀")), echo(text("κόσμε 😀")))
	add("utf-8", "valid sequence split across fragments", sendFrames(frame{op: opText, payload: []byte("κ")[:1]}, frame{fin: true, op: opCont, payload: []byte("κ")[1:]}), echo(text("κ")))
	add("utf-8", "emoji split in 4 fragments", sendFrames(frame{op: opText, payload: []byte("😀")[:1]}, frame{op: opCont, payload: []byte("😀")[1:2]}, frame{op: opCont, payload: []byte("😀")[2:3]}, frame{fin: true, op: opCont, payload: []byte("😀")[3:]}), echo(text("😀")))
	add("utf-8", "invalid byte 0xff", sendFrames(frame{fin: true, op: opText, payload: []byte{'a', 0xff}}), fail(1007))
	add("utf-8", "surrogate half", sendFrames(frame{fin: true, op: opText, payload: []byte{0xed, 0xa0, 0x80}}), fail(1007))
	add("utf-8", "overlong encoding", sendFrames(frame{fin: true, op: opText, payload: []byte{0xc0, 0xaf}}), fail(1007))
	add("utf-8", "truncated sequence at end", sendFrames(frame{fin: true, op: opText, payload: []byte{'o', 'k', 0xce}}), fail(1007))
	add("utf-8", "invalid split across fragments", sendFrames(frame{op: opText, payload: []byte("ok")}, frame{fin: true, op: opCont, payload: []byte{0xff}}), fail(1007))
	add("utf-8", "binary may hold any bytes", sendFrames(binFrame([]byte{0xff, 0xfe})), echo(binFrame([]byte{0xff, 0xfe})))

	// Close handling.
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1011, 3000, 4999} {
		add("close", fmt.Sprintf("close %d is answered", code), sendFrames(frame{fin: true, op: opClose, payload: closePayload(code, "bye")}), answerClose(code))
	}
	add("close", "close without status is answered without status", sendFrames(frame{fin: true, op: opClose}), answerClose(1005))
	add("close", "close with 123-byte reason", sendFrames(frame{fin: true, op: opClose, payload: closePayload(1000, strings.Repeat("r", 123))}), answerClose(1000))
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		add("close", fmt.Sprintf("close code %d on the wire", code), sendFrames(frame{fin: true, op: opClose, payload: closePayload(code, "")}), fail(1002))
	}
	// gorilla/websocket reports an invalid close reason as a protocol error (1002).
	add("close", "close reason of invalid UTF-8", sendFrames(frame{fin: true, op: opClose, payload: append(closePayload(1000, ""), 0xff, 0xfe)}), fail(1002))
	add("close", "close with 126-byte payload", sendFrames(frame{fin: true, op: opClose, payload: closePayload(1000, strings.Repeat("r", 124))}), fail(1002))
	add("close", "data after close is ignored", sendFrames(frame{fin: true, op: opClose, payload: closePayload(1000, "")}, text("late")), answerClose(1000))

	// Limits (InboundBufferSize is 64 KiB in these cases).
	limit := Options{InboundBufferSize: 64 << 10}
	cs = append(cs,
		confCase{group: "limits", name: "message at the limit", opts: limit, send: sendFrames(binFrame(big(64 << 10))), want: echo(binFrame(big(64 << 10)))},
		confCase{group: "limits", name: "message one byte over the limit", opts: limit, send: sendFrames(binFrame(big(64<<10 + 1))), want: fail(1009)},
		confCase{group: "limits", name: "fragments adding up over the limit", opts: limit, send: sendFrames(frame{op: opBinary, payload: big(40 << 10)}, frame{fin: true, op: opCont, payload: big(40 << 10)}), want: fail(1009)},
		confCase{group: "limits", name: "length field of 2^62 bytes", opts: limit, send: func(p *rawPeer) {
			p.write(rawFrame(frame{fin: true, op: opBinary, masked: true}, 1<<62))
		}, want: fail(1009)},
		confCase{group: "limits", name: "length field with the top bit set", opts: limit, send: func(p *rawPeer) {
			b := rawFrame(frame{fin: true, op: opBinary, masked: true}, 1<<62)
			b[2] |= 0x80
			p.write(b)
		}, want: drop()},
	)
	return cs
}

// echoLoop polls until done is closed, sending every message back as it came.
func echoLoop(poll func([]Event) []Event, done <-chan struct{}) (events []Event) {
	for {
		events = poll(events)
		for _, ev := range events {
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
	switch w.kind {
	case expectEcho:
		if len(o.echoes) != len(w.echoes) {
			return fmt.Errorf("got %d frames back, want %d", len(o.echoes), len(w.echoes))
		}
		for i, f := range o.echoes {
			e := w.echoes[i]
			if f.op != e.op || !bytes.Equal(f.payload, e.payload) || !f.fin || f.masked {
				return fmt.Errorf("frame %d: op %#x, %d bytes, fin %v, masked %v; want op %#x, %d bytes",
					i, f.op, len(f.payload), f.fin, f.masked, e.op, len(e.payload))
			}
		}
		if o.closeCode != 1000 || !o.dropped {
			return fmt.Errorf("after the echoes: close code %d, TCP ended %v; want 1000 and an end", o.closeCode, o.dropped)
		}
	case expectFail, expectClose:
		if len(o.echoes) != 0 {
			return fmt.Errorf("unexpected frames back: %d (first op %#x)", len(o.echoes), o.echoes[0].op)
		}
		if o.closeCode != w.code || !o.dropped {
			return fmt.Errorf("close code %d, TCP ended %v; want %d and an end", o.closeCode, o.dropped, w.code)
		}
	}
	return nil
}

type tally map[string][2]int // group -> passed, total

func (t tally) add(group string, ok bool) {
	v := t[group]
	v[1]++
	if ok {
		v[0]++
	}
	t[group] = v
}

func (t tally) print(tb testing.TB, title string) {
	groups := make([]string, 0, len(t))
	for g := range t {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%-16s %7s\n", title, "group", "passed")
	for _, g := range groups {
		fmt.Fprintf(&b, "%-16s %3d/%-3d\n", g, t[g][0], t[g][1])
	}
	tb.Log(b.String())
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
				f.masked = false
				o.echoes = append(o.echoes, f)
			}
			p.send(true, opClose, closePayload(1000, ""))
		}
		rest := p.collect(3 * time.Second)
		o.closeCode, o.dropped = rest.closeCode, rest.dropped
		o.echoes = append(o.echoes, rest.echoes...)
		p.conn.Close() // as a peer does once the connection ended
	}()
	events := echoLoop(poll, done)
	if err := c.want.check(o); err != nil {
		t.Fatal(err)
	}
	// Our side must report the end of the connection.
	waitUntil(t, "EventDisconnected", func() { events = poll(events) }, func() bool {
		for _, ev := range events {
			if ev.Kind == EventDisconnected {
				return true
			}
		}
		return false
	})
}

func TestConformanceServer(t *testing.T) {
	results := tally{}
	for _, c := range serverCases() {
		ok := t.Run(c.group+"/"+c.name, func(t *testing.T) {
			srv, _ := newServer(t, c.opts)
			runCase(t, c, dialRaw(t, srv, ""), srv.Poll, false)
		})
		results.add(c.group, ok)
	}
	results.print(t, "conformance, our server against a raw client")
}

// Client cases: a raw server writes frames to our client.
func clientCases() []confCase {
	masked := func(f frame) frame { f.masked = true; return f }
	return []confCase{
		{group: "framing", name: "unmasked text is echoed masked", send: sendFrames(text("hello")), want: echo(text("hello"))},
		{group: "framing", name: "binary 65536 bytes", send: sendFrames(binFrame(bytes.Repeat([]byte{7}, 65536))), want: echo(binFrame(bytes.Repeat([]byte{7}, 65536)))},
		{group: "framing", name: "masked server frame", send: func(p *rawPeer) { p.write(rawFrame(masked(text("x")), -1)) }, want: fail(1002)},
		{group: "ping-pong", name: "ping is answered", send: sendFrames(frame{fin: true, op: opPing, payload: []byte("p")}), want: echo(pong([]byte("p")))},
		{group: "reserved bits", name: "RSV1 on text", send: sendFrames(frame{fin: true, rsv: 0x40, op: opText, payload: []byte("x")}), want: fail(1002)},
		{group: "opcodes", name: "reserved opcode 0x3", send: sendFrames(frame{fin: true, op: 3}), want: fail(1002)},
		{group: "fragmentation", name: "text in 2 fragments", send: sendFrames(frag(opText, false, "ab"), frag(opCont, true, "c")), want: echo(text("abc"))},
		{group: "fragmentation", name: "continuation without start", send: sendFrames(frag(opCont, true, "x")), want: fail(1002)},
		{group: "utf-8", name: "invalid UTF-8 text", send: sendFrames(frame{fin: true, op: opText, payload: []byte{0xff}}), want: fail(1007)},
		{group: "close", name: "close 4000 is answered", send: sendFrames(frame{fin: true, op: opClose, payload: closePayload(4000, "x")}), want: answerClose(4000)},
		{group: "close", name: "close code 1006 on the wire", send: sendFrames(frame{fin: true, op: opClose, payload: closePayload(1006, "")}), want: fail(1002)},
		{group: "limits", name: "message over the limit", opts: Options{InboundBufferSize: 1024}, send: sendFrames(binFrame(make([]byte, 1025))), want: fail(1009)},
	}
}

func TestConformanceClient(t *testing.T) {
	results := tally{}
	for _, c := range clientCases() {
		ok := t.Run(c.group+"/"+c.name, func(t *testing.T) {
			rs := newRawServer(t, "")
			cl, _ := newClient(t, c.opts)
			if err := cl.Connect(rs.url()); err != nil {
				t.Fatal(err)
			}
			runCase(t, c, rs.accept(t), cl.Poll, true)
		})
		results.add(c.group, ok)
	}
	results.print(t, "conformance, our client against a raw server")
}
