package peer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// Direct reads (direct.go, internal/fastpath): Poll takes complete plain frames itself, the
// reader goroutine everything else. Whichever thread reads, messages arrive
// whole and in order, control frames are answered, and bad frames fail the
// connection as before.

func TestTakeFrames(t *testing.T) {
	masked := func(op byte, p []byte) []byte {
		return rawFrame(frame{fin: true, op: op, payload: p, masked: true}, -1)
	}
	plain := func(op byte, p []byte) []byte { return rawFrame(frame{fin: true, op: op, payload: p}, -1) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	big := bytes.Repeat([]byte("z"), 300)
	huge := append(masked(opBinary, nil)[:1], 0x80|127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4)
	cases := []struct {
		name   string
		server bool
		maxPk  int
		in     []byte
		want   []string // payloads taken (text marked with a "T:" prefix)
		rest   int      // bytes left in the socket
	}{
		{"two binary", true, 0, cat(masked(opBinary, []byte("ab")), masked(opBinary, []byte("cde"))), []string{"ab", "cde"}, 0},
		{"text then empty", true, 0, cat(masked(opText, []byte("héllo")), masked(opBinary, nil)), []string{"T:héllo", ""}, 0},
		{"16-bit length", true, 0, masked(opBinary, big), []string{string(big)}, 0},
		{"unmasked at a server", true, 0, plain(opBinary, []byte("x")), nil, 3},
		{"masked at a client", false, 0, masked(opBinary, []byte("x")), nil, 7},
		{"client takes unmasked", false, 0, cat(plain(opText, []byte("a")), plain(opBinary, []byte("b"))), []string{"T:a", "b"}, 0},
		{"ping first", true, 0, cat(masked(opPing, nil), masked(opBinary, []byte("x"))), nil, 13},
		{"stops at a pong", true, 0, cat(masked(opBinary, []byte("x")), masked(opPong, nil)), []string{"x"}, 6},
		{"stops at close", true, 0, cat(masked(opBinary, []byte("x")), masked(opClose, closePayload(1000, ""))), []string{"x"}, 8},
		{"compressed", true, 0, rawFrame(frame{fin: true, rsv: 0x40, op: opBinary, payload: []byte("x"), masked: true}, -1), nil, 7},
		{"RSV3", true, 0, rawFrame(frame{fin: true, rsv: 0x10, op: opText, payload: []byte("x"), masked: true}, -1), nil, 7},
		{"fragment", true, 0, rawFrame(frame{op: opText, payload: []byte("x"), masked: true}, -1), nil, 7},
		{"continuation", true, 0, rawFrame(frame{fin: true, op: opCont, payload: []byte("x"), masked: true}, -1), nil, 7},
		{"partial second", true, 0, cat(masked(opBinary, []byte("ab")), masked(opBinary, []byte("cd"))[:7]), []string{"ab"}, 7},
		{"empty frame's key cut", true, 0, cat(masked(opBinary, []byte("ab")), masked(opBinary, nil)[:4]), []string{"ab"}, 4},
		{"16-bit length cut", true, 0, masked(opBinary, big)[:3], nil, 3},
		{"partial header", true, 0, cat(masked(opBinary, []byte("ab")), []byte{0x82}), []string{"ab"}, 1},
		{"bad UTF-8", true, 0, cat(masked(opBinary, []byte("ok")), masked(opText, []byte{0xff, 'a'})), []string{"ok"}, 8},
		{"over the limit", true, 0, cat(masked(opBinary, []byte("ok")), masked(opBinary, make([]byte, 1001))), []string{"ok"}, 1009},
		{"64-bit length with MSB", true, 0, huge, nil, len(huge)},
		{"queue full", true, 2, cat(masked(opBinary, []byte("1")), masked(opBinary, []byte("2")), masked(opBinary, []byte("3"))), []string{"1", "2"}, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(&hub{}, resolve(&Options{InboundBufferSize: 1000, MaxQueuedPackets: tc.maxPk}))
			var msgs []Message
			used := c.takeFrames(tc.in, tc.server, &msgs)
			var got []string
			for _, m := range msgs {
				s := string(m.Data)
				if m.Text {
					s = "T:" + s
				}
				got = append(got, s)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("took %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("message %d: %q, want %q", i, got[i], tc.want[i])
				}
			}
			if rest := len(tc.in) - used; rest != tc.rest {
				t.Fatalf("left %d bytes, want %d", rest, tc.rest)
			}
		})
	}
}

func TestMaskCopy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 70; n++ {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		key := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		dst := make([]byte, n)
		maskCopy(dst, src, binary.LittleEndian.Uint32(key[:]))
		for i := range src {
			if dst[i] != src[i]^key[i&3] {
				t.Fatalf("len %d byte %d: %#x, want %#x", n, i, dst[i], src[i]^key[i&3])
			}
		}
	}
}

// A frame the direct path leaves alone still fails the connection, after
// every message before it was delivered.
func TestDirectReadThenInvalidUTF8(t *testing.T) {
	needPollReads(t)
	srv, sp := newServer(t, Options{})
	raw := dialRaw(t, srv, "")
	waitUntil(t, "peer", sp.step, func() bool { return sp.count(EventConnected) == 1 })
	c := sp.events[0].Conn
	// Poll in a tight loop (as a game loop does) races the reader goroutine
	// for each message; it wins some.
	for i := 0; i < 1000 && c.directIn.Load() == 0; i++ {
		raw.send(true, opText, []byte("fine"))
		deadline := time.Now().Add(testTimeout)
		for c.Available() == 0 && time.Now().Before(deadline) {
			sp.step()
		}
		if m, _ := c.Read(); string(m.Data) != "fine" {
			t.Fatalf("got %q", m.Data)
		}
	}
	if c.directIn.Load() == 0 {
		t.Fatal("Poll read nothing directly from an idle-then-ready socket")
	}
	raw.send(true, opText, []byte("a"))
	raw.send(true, opText, []byte{0xc3, 0x28})
	o := raw.collect(2 * time.Second)
	if o.closeCode != 1007 {
		t.Fatalf("close code %d, want 1007", o.closeCode)
	}
	waitUntil(t, "disconnect", sp.step, func() bool { return sp.count(EventDisconnected) == 1 })
	if m, ok := c.Read(); !ok || string(m.Data) != "a" {
		t.Fatalf("message before the bad one: %q %v", m.Data, ok)
	}
}

// bytesConn is a net.Conn whose reads come from a byte slice (then EOF) and
// whose writes are discarded: gorilla reading a recorded stream.
type bytesConn struct {
	net.Conn // nil: the methods below are all gorilla calls
	r        *bytes.Reader
}

func (c *bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// hijackWriter lets gorilla's Upgrader take a bytesConn.
type hijackWriter struct {
	http.ResponseWriter
	c *bytesConn
}

func (h *hijackWriter) Header() http.Header { return http.Header{} }
func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.c, bufio.NewReadWriter(bufio.NewReader(h.c), bufio.NewWriter(h.c)), nil
}

// gorillaServerReads is what gorilla's server makes of stream: the messages
// it reads before its first error.
func gorillaServerReads(t *testing.T, stream []byte, limit int64) []Message {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://x/", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", testKey)
	req.Header.Set("Sec-WebSocket-Version", "13")
	u := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := u.Upgrade(&hijackWriter{c: &bytesConn{r: bytes.NewReader(stream)}}, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(limit)
	var out []Message
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			return out
		}
		out = append(out, Message{Data: data, Text: mt == websocket.TextMessage})
	}
}

// FuzzTakeFrames: whatever Poll takes from a server's socket, gorilla reads
// the same messages from the same bytes (Poll takes only frames gorilla
// accepts, and decodes them alike), and Poll never takes part of a frame.
func FuzzTakeFrames(f *testing.F) {
	m := func(fin bool, op byte, p string) []byte {
		return rawFrame(frame{fin: fin, op: op, payload: []byte(p), masked: true}, -1)
	}
	f.Add(bytes.Join([][]byte{m(true, opText, "héllo"), m(true, opBinary, ""), m(true, opPing, "p")}, nil))
	f.Add(bytes.Join([][]byte{m(true, opBinary, strings.Repeat("x", 200)), m(false, opText, "a"), m(true, opCont, "b")}, nil))
	f.Add(bytes.Join([][]byte{m(true, opBinary, "ok"), m(true, opText, "\xff")}, nil))
	f.Add(rawFrame(frame{fin: true, op: opText, payload: []byte("x")}, -1))
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
	const limit = 1000
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newConn(&hub{}, resolve(&Options{InboundBufferSize: limit, MaxQueuedPackets: 1 << 20}))
		var msgs []Message
		used := c.takeFrames(data, true, &msgs)
		if used < 0 || used > len(data) {
			t.Fatalf("used %d of %d bytes", used, len(data))
		}
		if len(msgs) == 0 {
			if used != 0 {
				t.Fatalf("used %d bytes for no message", used)
			}
			return
		}
		// The bytes taken are whole frames: gorilla reads exactly these
		// messages from them, and nothing is left over.
		got := gorillaServerReads(t, data[:used], limit)
		if len(got) != len(msgs) {
			t.Fatalf("Poll took %d messages, gorilla reads %d from the same %d bytes", len(msgs), len(got), used)
		}
		// And from the whole stream gorilla reads at least these first.
		all := gorillaServerReads(t, data, limit)
		if len(all) < len(msgs) {
			t.Fatalf("Poll took %d messages, gorilla reads only %d from the stream", len(msgs), len(all))
		}
		for i := range msgs {
			if msgs[i].Text != all[i].Text || !bytes.Equal(msgs[i].Data, all[i].Data) {
				t.Fatalf("message %d: Poll %q (text %v), gorilla %q (text %v)", i, msgs[i].Data, msgs[i].Text, all[i].Data, all[i].Text)
			}
			if len(msgs[i].Data) > limit || msgs[i].Text && !utf8.Valid(msgs[i].Data) {
				t.Fatalf("message %d: %d bytes, text %v", i, len(msgs[i].Data), msgs[i].Text)
			}
		}
	})
}
