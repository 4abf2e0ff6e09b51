package peer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// Fuzzers for what we parse and validate ourselves. Seeds are in f.Add and
// in testdata/fuzz/<name>/. Run one with, e.g.:
//   go test -run '^$' -fuzz '^FuzzValidateURL$' -fuzztime 30s ./peer/

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"ws://127.0.0.1:9080/chat?room=1", "wss://game.example/", "ws://[::1]:80/", "http://x/",
		"ws://", "ws://:80/", "ws://host:0/", "ws://host:65536/", "ws:host", "ws://h%zz/", "WS://HOST/", "ws://user:pw@h/#frag", "",
		"ws://h/p%2Fq?x=%zz", "wss://[fe80::1%25eth0]/", "ws://h:/", "ws://h/#", "ws://@h/"} {
		f.Add(s)
	}
	errDialed := errors.New("dialed")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ValidateURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrUnsupportedURL) {
				t.Fatalf("ValidateURL(%q): untyped error %v", raw, err)
			}
			// Connect refuses it the same way, at once.
			cl := NewClient(Options{})
			defer cl.Shutdown()
			if cerr := cl.Connect(raw); cerr == nil || cerr.Error() != err.Error() || cl.Conn() != nil {
				t.Fatalf("Connect(%q) = %v, ValidateURL said %v", raw, cerr, err)
			}
			return
		}
		if u.Scheme != "ws" && u.Scheme != "wss" {
			t.Fatalf("accepted scheme %q", u.Scheme)
		}
		if u.Hostname() == "" || u.Opaque != "" || u.User != nil {
			t.Fatalf("accepted %q (host %q, opaque %q, user %v)", raw, u.Hostname(), u.Opaque, u.User)
		}
		port := u.Port()
		if port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				t.Fatalf("accepted port %q", port)
			}
		} else if port = "80"; u.Scheme == "wss" {
			port = "443"
		}
		// It round-trips.
		u2, err := ValidateURL(u.String())
		if err != nil || u2.String() != u.String() {
			t.Fatalf("%q -> %q -> %v, %v", raw, u.String(), u2, err)
		}
		// gorilla takes it too (a URL it refused would fail later, in the
		// dialing goroutine), and dials the host and port it names.
		var dialed string
		dial := func(_ context.Context, _, addr string) (net.Conn, error) { dialed = addr; return nil, errDialed }
		d := websocket.Dialer{NetDialContext: dial, NetDialTLSContext: dial}
		if _, _, err := d.Dial(raw, nil); !errors.Is(err, errDialed) {
			t.Fatalf("gorilla refuses %q: %v", raw, err)
		}
		if want := net.JoinHostPort(u.Hostname(), port); dialed != want {
			t.Fatalf("%q: gorilla dialed %q, want %q", raw, dialed, want)
		}
	})
}

func FuzzParseProxyURL(f *testing.F) {
	for _, s := range []string{"http://user:pass@127.0.0.1:3128", "https://proxy.lan/", "socks5://x:1", "http://", "http://:8080", "http://%41:80", "",
		"http://proxy:0", "http://proxy:65536", "http://[::1]", "https://u%3Ax:p%40@[::1]:8443/ignored?x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseProxyURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("parseProxyURL(%q): untyped error %v", raw, err)
			}
			if raw == "" {
				return // no proxy
			}
			// Connect refuses it at once.
			cl := NewClient(Options{ProxyURL: raw})
			defer cl.Shutdown()
			if cerr := cl.Connect("ws://127.0.0.1:1/"); cerr == nil || cl.Conn() != nil {
				t.Fatalf("Connect through proxy %q = %v", raw, cerr)
			}
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
			t.Fatalf("accepted %q", raw)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				t.Fatalf("accepted port %q in %q", p, raw)
			}
		}
		// The address dialProxy dials is a host and a port.
		if h, p, err := net.SplitHostPort(proxyAddr(u)); err != nil || h != u.Hostname() || p == "" {
			t.Fatalf("%q: proxy address %q (%v)", raw, proxyAddr(u), err)
		}
	})
}

func FuzzValidateClose(f *testing.F) {
	f.Add(1000, "")
	f.Add(4999, "bye")
	f.Add(1005, "")
	f.Add(3000, strings.Repeat("x", 124))
	f.Add(1000, "\xff")
	f.Add(-1, "")
	f.Fuzz(func(t *testing.T, code int, reason string) {
		err := validateClose(code, reason)
		ok := ValidCloseCode(code) && len(reason) <= MaxCloseReason && utf8.ValidString(reason)
		if (err == nil) != ok {
			t.Fatalf("validateClose(%d, %q) = %v", code, reason, err)
		}
		if err != nil && !errors.Is(err, ErrReasonTooLong) && !errors.Is(err, ErrInvalidCloseCode) && !errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("untyped error %v", err)
		}
		if ok && (code < 1000 || code > 4999) {
			t.Fatalf("code %d accepted", code)
		}
	})
}

// checkMessages reads every message Poll made readable: none may be larger
// than limit, and text must be UTF-8. It returns how many connections
// connected and ended so far.
func checkMessages(t *testing.T, evs []Event, limit int, connected, ended *int) {
	t.Helper()
	for _, ev := range evs {
		switch ev.Kind {
		case EventConnected:
			*connected++
		case EventDisconnected:
			*ended++
		}
		if ev.Conn == nil {
			continue
		}
		for {
			m, ok := ev.Conn.Read()
			if !ok {
				break
			}
			if len(m.Data) > limit || m.Text && !utf8.Valid(m.Data) {
				t.Fatalf("delivered a message of %d bytes (text %v, UTF-8 %v) with a %d-byte limit",
					len(m.Data), m.Text, utf8.Valid(m.Data), limit)
			}
		}
	}
}

// FuzzServerFrames writes arbitrary bytes after a valid upgrade: our server
// must neither panic nor hang, deliver only messages within the limit (text
// in UTF-8), and end the connection once the peer is done.
func FuzzServerFrames(f *testing.F) {
	f.Add(rawFrame(frame{fin: true, op: opText, payload: []byte("hello"), masked: true}, -1))
	f.Add(rawFrame(frame{fin: false, op: opText, payload: []byte("he"), masked: true}, -1))
	f.Add(rawFrame(frame{fin: true, op: opClose, payload: closePayload(1000, "x"), masked: true}, -1))
	f.Add(rawFrame(frame{fin: true, op: opClose, payload: []byte{3}, masked: true}, -1))
	f.Add(rawFrame(frame{fin: true, op: opBinary, masked: true}, 1<<40))
	f.Add([]byte{0x81, 0xff, 0, 0})
	const limit = 1 << 16
	srv := NewServer(Options{InboundBufferSize: limit, CloseTimeout: 200 * time.Millisecond})
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		f.Fatal(err)
	}
	defer srv.Stop()
	var evs []Event
	var connected, ended int
	f.Fuzz(func(t *testing.T, data []byte) {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
			testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
		// Frames only after the 101 (a client may not send them earlier).
		br := bufio.NewReader(conn)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", err, resp)
		}
		go func() {
			_, _ = conn.Write(data)
			_ = conn.(*net.TCPConn).CloseWrite()
		}()
		// Read what the server sends until it ends the connection, while
		// polling it.
		deadline := time.Now().Add(5 * time.Second)
		buf := make([]byte, 4096)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(time.Millisecond))
			_, err := br.Read(buf)
			evs = srv.Poll(evs[:0])
			checkMessages(t, evs, limit, &connected, &ended)
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) && ended == connected {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the server did not end the connection within 5 s (%d connected, %d ended)", connected, ended)
			}
		}
	})
}

// FuzzClientFrames: a raw server answers our client's upgrade, then writes
// arbitrary bytes: our client must neither panic nor hang, deliver only
// messages within the limit (text in UTF-8), and report the end.
func FuzzClientFrames(f *testing.F) {
	f.Add(rawFrame(text("hello"), -1))
	f.Add(append(rawFrame(frag(opText, false, "he"), -1), rawFrame(frag(opCont, true, "llo"), -1)...))
	f.Add(rawFrame(closeFrame(closePayload(1000, "x")), -1))
	f.Add(rawFrame(closeFrame(append(closePayload(1000, ""), 0xff)), -1))
	f.Add(rawFrame(frame{fin: true, op: opText, payload: []byte("x"), masked: true}, -1))
	f.Add(rawFrame(frame{fin: true, op: opBinary}, 1<<40))
	const limit = 1 << 16
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	var evs []Event
	f.Fuzz(func(t *testing.T, data []byte) {
		cl := NewClient(Options{InboundBufferSize: limit, CloseTimeout: 200 * time.Millisecond})
		defer cl.Shutdown()
		if err := cl.Connect("ws://" + ln.Addr().String() + "/"); err != nil {
			t.Fatal(err)
		}
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + computeAccept(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"))
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = conn.Write(data)
			_ = conn.(*net.TCPConn).CloseWrite()
			_, _ = io.Copy(io.Discard, br) // until our client ends the connection
		}()
		var connected, ended int
		deadline := time.Now().Add(5 * time.Second)
		for ended == 0 {
			evs = cl.Poll(evs[:0])
			checkMessages(t, evs, limit, &connected, &ended)
			for _, ev := range evs {
				if ev.Kind == EventConnectError {
					t.Fatalf("connect error after a valid 101: %v", ev.Err)
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("our client did not end the connection within 5 s")
			}
			time.Sleep(100 * time.Microsecond)
		}
		conn.Close()
		<-wrote
	})
}

// chunkConn is a net.Conn whose reads return data in pieces of the sizes in
// cuts (cycled; 0 counts as 1).
type chunkConn struct {
	net.Conn
	data []byte
	cuts []byte
	i    int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.cuts) > 0 {
		n = max(1, int(c.cuts[c.i%len(c.cuts)]))
		c.i++
	}
	n = copy(p, c.data[:min(n, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}

// refFrameCheck is a plain reading of the whole frame stream with watchConn's
// rules (without compression or read limit; frames from a client are
// masked, from a server not): the offsets where the first frame to fail
// begins and ends, and its close code (0: none).
func refFrameCheck(b []byte, fromClient bool) (start, end, code int) {
	inFrag := false
	for i := 0; ; {
		if len(b)-i < 2 {
			return 0, 0, 0
		}
		// gorilla's checks of the first two bytes
		op, fin, l7 := b[i]&0x0F, b[i]&0x80 != 0, b[i+1]&0x7F
		bad := b[i]&0x70 != 0 || (b[i+1]&0x80 != 0) != fromClient
		switch op {
		case opClose, opPing, opPong:
			bad = bad || l7 > 125 || !fin
		case opText, opBinary:
			bad = bad || inFrag
			inFrag = !fin
		case opCont:
			bad = bad || !inFrag
			inFrag = !fin
		default:
			bad = true
		}
		if bad {
			return i, i + 2, 1002
		}
		hl := 2 + map[byte]int{126: 2, 127: 8}[b[i+1]&0x7F]
		masked := b[i+1]&0x80 != 0
		if masked {
			hl += 4
		}
		if len(b)-i < hl {
			return 0, 0, 0
		}
		var n uint64
		switch l := b[i+1] & 0x7F; l {
		case 126:
			n = uint64(b[i+2])<<8 | uint64(b[i+3])
		case 127:
			for _, x := range b[i+2 : i+10] {
				n = n<<8 | uint64(x)
			}
			if n >= 1<<63 {
				return i, i + hl, 1002
			}
		default:
			n = uint64(l)
		}
		if b[i]&0x0F == opClose {
			switch {
			case n == 1:
				return i, i + hl + 1, 1002
			case n == 0 || n > 125 || len(b)-i-hl < int(n):
				return 0, 0, 0
			}
			p := append([]byte(nil), b[i+hl:i+hl+int(n)]...)
			if masked {
				for j := range p {
					p[j] ^= b[i+hl-4+j%4]
				}
			}
			if !ValidCloseCode(int(p[0])<<8 | int(p[1])) {
				return i, i + hl + int(n), 1002
			}
			if !utf8.Valid(p[2:]) {
				return i, i + hl + int(n), 1007
			}
			return 0, 0, 0
		}
		if uint64(len(b)-i-hl) < n {
			return 0, 0, 0
		}
		i += hl + int(n)
	}
}

// FuzzFrameWatch: whatever the stream and however it is cut into reads,
// watchConn passes every byte before the first frame to fail unchanged,
// never the whole of that frame, and reports its code; without such a frame
// it passes the stream unchanged. mode 0 is a server's (frames from the
// start), 1 and 2 a client's (after an upgrade response with CRLF or LF
// line ends).
func FuzzFrameWatch(f *testing.F) {
	f.Add(rawFrame(frame{fin: true, op: opClose, payload: []byte{3}, masked: true}, -1), []byte{1}, byte(0))
	f.Add(append(rawFrame(text("ok"), -1), rawFrame(closeFrame(append(closePayload(1000, "x"), 0xff)), -1)...), []byte{3, 1, 7}, byte(1))
	f.Add(rawFrame(frame{fin: true, op: opClose, payload: append(closePayload(4000, ""), 0xed, 0xa0, 0x80), masked: true}, -1), []byte{2}, byte(0))
	f.Add(append(rawFrame(frame{fin: true, op: opBinary, payload: []byte("abc"), masked: true}, -1), 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1), []byte{5}, byte(0))
	f.Add(rawFrame(closeFrame(closePayload(1000, "κόσμε")), -1), []byte{1, 2}, byte(2))
	f.Add(rawFrame(frame{fin: true, op: opBinary, payload: make([]byte, 300)}, -1), []byte{}, byte(1))
	f.Fuzz(func(t *testing.T, stream, cuts []byte, mode byte) {
		mode %= 3
		prefix := map[byte]string{1: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
			2: "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n"}[mode]
		data := append([]byte(prefix), stream...)
		w := newWatchConn(&chunkConn{data: append([]byte(nil), data...), cuts: cuts}, mode != 0)
		if mode == 0 {
			w.startFrames()
		}
		var got []byte
		var ferr *frameError
		buf := make([]byte, 64)
		for {
			n, err := w.Read(buf)
			got = append(got, buf[:n]...)
			if err == nil {
				continue
			}
			if err != io.EOF && !errors.As(err, &ferr) {
				t.Fatalf("read: %v", err)
			}
			break
		}
		start, end, code := refFrameCheck(stream, mode == 0)
		start, end = start+len(prefix), end+len(prefix)
		if !bytes.Equal(got, data[:len(got)]) {
			t.Fatal("bytes passed changed")
		}
		if code == 0 {
			if ferr != nil || len(got) != len(data) {
				t.Fatalf("no frame to fail, got %v after %d of %d bytes", ferr, len(got), len(data))
			}
			return
		}
		if ferr == nil || ferr.code != code {
			t.Fatalf("frame at %d..%d should fail with %d; got %v", start, end, code, ferr)
		}
		if len(got) < start || len(got) >= end {
			t.Fatalf("passed %d bytes; the frame to fail is %d..%d", len(got), start, end)
		}
		// Later reads go straight through (lingering after the failure).
		if n, err := w.Read(buf); n == 0 && err != io.EOF && len(got) < len(data) {
			t.Fatalf("read after the failure: %d, %v", n, err)
		}
	})
}
