package peer

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile input: malformed or abusive handshakes, floods, slow clients,
// oversized messages and compression bombs are refused with the right status
// or close code, in bounded time and memory.

// response is what a raw request got back.
type response struct {
	status  int // 0: the connection closed without a response
	header  http.Header
	elapsed time.Duration
}

// rawRequest sends request on a new connection to srv (over TLS when cfg is
// set) and reads the response.
func rawRequest(t *testing.T, srv *Server, cfg *tls.Config, request string) response {
	t.Helper()
	return rawRequestBytes(t, srv, cfg, []byte(request))
}

func rawRequestBytes(t *testing.T, srv *Server, cfg *tls.Config, request []byte) response {
	t.Helper()
	var conn net.Conn
	var err error
	addr := fmt.Sprintf("127.0.0.1:%d", srv.Port())
	if cfg != nil {
		conn, err = tls.Dial("tcp", addr, cfg)
	} else {
		conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	wrote := make(chan struct{})
	go func() { // may block on huge requests the server stops reading
		defer close(wrote)
		_, _ = conn.Write(request)
	}()
	defer func() { conn.Close(); <-wrote }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return response{elapsed: time.Since(start)}
	}
	resp.Body.Close()
	return response{status: resp.StatusCode, header: resp.Header, elapsed: time.Since(start)}
}

func upgradeStatus(t *testing.T, srv *Server, request string) int {
	t.Helper()
	return rawRequest(t, srv, nil, request).status
}

// upgradeRequest is a valid upgrade request without the header lines that
// start with drop, plus extra.
func upgradeRequest(drop string, extra string) string {
	lines := []string{"GET / HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Key: " + testKey, "Sec-WebSocket-Version: 13"}
	var b strings.Builder
	for _, l := range lines {
		if drop != "" && strings.HasPrefix(l, drop) {
			continue
		}
		b.WriteString(l + "\r\n")
	}
	b.WriteString(extra + "\r\n")
	return b.String()
}

func TestMalformedHandshakes(t *testing.T) {
	cert, pool := testCert(t)
	for _, wss := range []bool{false, true} {
		name, opts, cfg := "ws", Options{HandshakeTimeout: time.Second}, (*tls.Config)(nil)
		if wss {
			name, opts.TLS, cfg = "wss", &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		}
		t.Run(name, func(t *testing.T) { testMalformedHandshakes(t, opts, cfg) })
	}
}

func testMalformedHandshakes(t *testing.T, opts Options, cfg *tls.Config) {
	srv, sp := newServer(t, opts)
	cases := []struct {
		name    string
		request string
		want    int
		header  string // a response header that must be present
	}{
		{"valid", upgradeRequest("", ""), 101, "Sec-WebSocket-Accept"},
		{"missing Sec-WebSocket-Key", upgradeRequest("Sec-WebSocket-Key", ""), 400, ""},
		{"Sec-WebSocket-Key not 16 bytes", upgradeRequest("Sec-WebSocket-Key", "Sec-WebSocket-Key: c2hvcnQ=\r\n"), 400, ""},
		{"Sec-WebSocket-Key not base64", upgradeRequest("Sec-WebSocket-Key", "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!\r\n"), 400, ""},
		{"missing Sec-WebSocket-Version", upgradeRequest("Sec-WebSocket-Version", ""), 400, "Sec-WebSocket-Version"},
		{"Sec-WebSocket-Version 8", upgradeRequest("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n"), 400, "Sec-WebSocket-Version"},
		{"Sec-WebSocket-Version 14", upgradeRequest("Sec-WebSocket-Version", "Sec-WebSocket-Version: 14\r\n"), 400, "Sec-WebSocket-Version"},
		{"missing Upgrade", upgradeRequest("Upgrade", ""), 400, ""},
		{"Upgrade: h2c", upgradeRequest("Upgrade", "Upgrade: h2c\r\n"), 400, ""},
		{"missing Connection", upgradeRequest("Connection", ""), 400, ""},
		{"Connection: keep-alive", upgradeRequest("Connection", "Connection: keep-alive\r\n"), 400, ""},
		{"POST", strings.Replace(upgradeRequest("", ""), "GET", "POST", 1), 405, ""},
		{"missing Host", upgradeRequest("Host", ""), 400, ""},
		{"header line without a colon", upgradeRequest("", "no colon here\r\n"), 400, ""},
		{"1 MiB header", upgradeRequest("", "X-Big: "+strings.Repeat("a", 1<<20)+"\r\n"), 431, ""},
		{"10,000 small headers", upgradeRequest("", strings.Repeat("X-A: b\r\n", 10000)), 431, ""},
		{"not HTTP", "\x16\x03\x01\x00\xa5garbage\r\n\r\n", 400, ""},
		// gorilla refuses a client that sends frames before the 101.
		{"a frame before the 101", upgradeRequest("", "") + string(rawFrame(frame{fin: true, op: opText, payload: []byte("early"), masked: true}, -1)), 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rawRequest(t, srv, cfg, c.request)
			if r.status != c.want {
				t.Fatalf("status %d, want %d", r.status, c.want)
			}
			if c.header != "" && r.header.Get(c.header) == "" {
				t.Fatalf("no %s header in the response: %v", c.header, r.header)
			}
			if r.elapsed > 2*time.Second {
				t.Fatalf("answered after %v", r.elapsed)
			}
		})
	}
	// Only the valid request became a peer.
	waitUntil(t, "the valid peer", sp.step, func() bool { return sp.count(EventConnected) == 1 })
	time.Sleep(50 * time.Millisecond)
	sp.step()
	if n := sp.count(EventConnected); n != 1 {
		t.Fatalf("%d peers connected, want 1", n)
	}
}

// Huge request headers are refused with 431 having read a bounded amount:
// memory does not grow with the size sent.
func TestHugeHeadersBoundedMemory(t *testing.T) {
	srv, _ := newServer(t, Options{})
	const clients, size = 8, 4 << 20
	req := []byte(upgradeRequest("", "X-Big: "+strings.Repeat("a", size)+"\r\n"))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	statuses := make([]int, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = rawRequestBytes(t, srv, nil, req).status
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	for i, s := range statuses {
		if s != 431 {
			t.Fatalf("client %d: status %d, want 431", i, s)
		}
	}
	grew := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("%d clients sending %d MiB of header each: %d KiB allocated", clients, size>>20, grew>>10)
	if grew > clients*size/4 {
		t.Fatalf("allocated %d KiB for %d huge headers", grew>>10, clients)
	}
}

// A slowloris sending its request one byte per second is dropped after the
// handshake timeout, and does not hold up other clients; over TLS, one that
// stops in the middle of its TLS handshake too.
func TestSlowlorisDropped(t *testing.T) {
	cert, pool := testCert(t)
	for _, c := range []struct {
		name  string
		tls   bool
		bytes string // sent one per second
	}{
		{"ws, request", false, upgradeRequest("", "")},
		{"ws, silent", false, ""},
		{"wss, ClientHello", true, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
		{"wss, silent", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{HandshakeTimeout: 300 * time.Millisecond}
			var cfg *tls.Config
			if c.tls {
				opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
				cfg = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
			}
			srv, _ := newServer(t, opts)
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			stop := make(chan struct{})
			writer := make(chan struct{})
			go func() {
				defer close(writer)
				for i := 0; i < len(c.bytes); i++ {
					if _, err := conn.Write([]byte{c.bytes[i]}); err != nil {
						return
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Second):
					}
				}
			}()
			defer func() { close(stop); <-writer }()
			dropped := make(chan time.Duration, 1)
			go func() {
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, _ = conn.Read(make([]byte, 4096)) // a 408/400 or a TLS alert may come first
				for {
					if _, err := conn.Read(make([]byte, 4096)); err != nil {
						break
					}
				}
				dropped <- time.Since(start)
			}()
			// Meanwhile a normal client gets in.
			if got := rawRequest(t, srv, cfg, upgradeRequest("", "")).status; got != 101 {
				t.Fatalf("a normal client got %d while a slowloris was connected", got)
			}
			select {
			case d := <-dropped:
				t.Logf("dropped after %v", d)
				if d < 250*time.Millisecond || d > 2*time.Second {
					t.Fatalf("slowloris dropped after %v with a 300ms handshake timeout", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("slowloris never dropped")
			}
		})
	}
}

// Floods beyond MaxConnections are refused with 503 before the upgrade; a
// slot freed by a leaving peer is taken again.
func TestConnectionFloodRefused(t *testing.T) {
	srv, sp := newServer(t, Options{MaxConnections: 5})
	var conns []*rawPeer
	for i := 0; i < 5; i++ {
		conns = append(conns, dialRaw(t, srv, ""))
	}
	var wg sync.WaitGroup
	results := make([]response, 50)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = rawRequest(t, srv, nil, upgradeRequest("", ""))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.status != 503 || r.elapsed > 2*time.Second {
			t.Fatalf("connection %d over the limit: status %d after %v, want 503", i, r.status, r.elapsed)
		}
	}
	waitUntil(t, "5 peers", sp.step, func() bool { return sp.count(EventConnected) == 5 })
	// One leaves (close handshake); its slot is free once it is disconnected.
	conns[0].send(true, opClose, closePayload(1000, ""))
	waitUntil(t, "a peer leaving", sp.step, func() bool { return sp.count(EventDisconnected) == 1 })
	conns = append(conns, dialRaw(t, srv, "")) // fails the test unless 101
	if got := upgradeStatus(t, srv, upgradeRequest("", "")); got != 503 {
		t.Fatalf("over the limit again: status %d, want 503", got)
	}
	waitUntil(t, "6 peers in all", sp.step, func() bool { return sp.count(EventConnected) == 6 })
}

// An Origin outside AllowedOrigins is refused with 403 before the upgrade.
func TestOriginRefused(t *testing.T) {
	srv, sp := newServer(t, Options{AllowedOrigins: []string{"https://game.example"}})
	for _, c := range []struct {
		origin string
		want   int
	}{
		{"https://game.example", 101},
		{"", 101}, // no Origin: not a browser
		{"https://evil.example", 403},
		{"https://game.example.evil.example", 403},
		{"http://game.example", 403},
		{"https://GAME.example", 403},
		{"null", 403},
	} {
		extra := ""
		if c.origin != "" {
			extra = "Origin: " + c.origin + "\r\n"
		}
		if got := upgradeStatus(t, srv, upgradeRequest("", extra)); got != c.want {
			t.Fatalf("Origin %q: status %d, want %d", c.origin, got, c.want)
		}
	}
	waitUntil(t, "2 peers", sp.step, func() bool { return sp.count(EventConnected) == 2 })
	time.Sleep(50 * time.Millisecond)
	sp.step()
	if n := sp.count(EventConnected); n != 2 {
		t.Fatalf("%d peers connected, want 2", n)
	}
}

// Oversized frames and messages end the connection with 1009 at once, before
// the announced payload arrives.
func TestOversizedMessages(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		ext  string
		send func(p *rawPeer)
	}{
		{"frame announcing 1 GiB", Options{InboundBufferSize: 1 << 20}, "", func(p *rawPeer) {
			p.put(rawFrame(frame{fin: true, op: opBinary, masked: true}, 1<<30))
		}},
		{"compressed frame announcing 1 GiB", Options{InboundBufferSize: 1 << 20, Compression: true}, deflateOffer, func(p *rawPeer) {
			p.put(rawFrame(frame{fin: true, rsv: 0x40, op: opBinary, masked: true}, 1<<30))
		}},
		{"fragments of 64 KiB without end", Options{InboundBufferSize: 1 << 20}, "", func(p *rawPeer) {
			for i := 0; i < 20; i++ {
				op := byte(opCont)
				if i == 0 {
					op = opBinary
				}
				if !p.put(rawFrame(frame{op: op, payload: make([]byte, 64<<10), masked: true}, -1)) {
					return
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, sp := newServer(t, c.opts)
			p := dialRaw(t, srv, c.ext)
			start := time.Now()
			go c.send(p)
			o := p.collect(5 * time.Second)
			p.conn.Close()
			if o.closeCode != 1009 || !o.dropped || time.Since(start) > 5*time.Second {
				t.Fatalf("close code %d, TCP ended %v after %v; want 1009 and an end", o.closeCode, o.dropped, time.Since(start))
			}
			waitUntil(t, "EventDisconnected", sp.step, func() bool {
				ev, ok := sp.find(EventDisconnected, nil)
				return ok && !ev.Clean && errors.Is(ev.Err, ErrMessageTooBig)
			})
		})
	}
}

const deflateOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n"

// deflated returns n MiB of zeros compressed as a permessage-deflate payload.
func deflated(n int) []byte {
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < n; i++ {
		_, _ = fw.Write(zeros)
	}
	_ = fw.Flush()
	return bytes.TrimSuffix(comp.Bytes(), []byte{0, 0, 0xff, 0xff})
}

var bomb = sync.OnceValue(func() []byte { return deflated(32) }) // 32 MiB of zeros in about 32 KB

// A compression bomb (a small compressed message that inflates far past
// the inbound limit) closes the connection with 1009, with bounded memory:
// sent to our server in one frame or in many fragments, and to our client.
func TestCompressionBomb(t *testing.T) {
	const limit = 1 << 20
	b := bomb()
	t.Logf("bomb: %d compressed bytes for 32 MiB", len(b))
	for _, c := range []struct {
		name   string
		client bool // our client receives it
		frames func(masked bool) []byte
	}{
		{"to our server, one frame", false, func(masked bool) []byte {
			return rawFrame(frame{fin: true, rsv: 0x40, op: opBinary, payload: b, masked: masked}, -1)
		}},
		{"to our server, 64 fragments", false, func(masked bool) []byte {
			var out []byte
			for i, f := range split(opBinary, b, 64) {
				if i == 0 {
					f.rsv = 0x40
				}
				f.masked = masked
				out = append(out, rawFrame(f, -1)...)
			}
			return out
		}},
		{"to our client, one frame", true, func(masked bool) []byte {
			return rawFrame(frame{fin: true, rsv: 0x40, op: opText, payload: b, masked: masked}, -1)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Compression: true, InboundBufferSize: limit}
			var p *rawPeer
			var poll func([]Event) []Event
			if c.client {
				rs := newRawServer(t, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n")
				cl, _ := newClient(t, opts)
				if err := cl.Connect(rs.url()); err != nil {
					t.Fatal(err)
				}
				p, poll = rs.accept(t), cl.Poll
			} else {
				srv, _ := newServer(t, opts)
				p, poll = dialRaw(t, srv, deflateOffer), srv.Poll
			}
			data := c.frames(p.client)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			go p.put(data)
			o := p.collect(5 * time.Second)
			runtime.ReadMemStats(&after)
			p.conn.Close()
			if o.closeCode != 1009 || !o.dropped {
				t.Fatalf("close code %d, TCP ended %v; want 1009 and an end", o.closeCode, o.dropped)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
			grew := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("allocated %d KiB, heap in use %+d KiB", grew>>10, (int64(after.HeapInuse)-int64(before.HeapInuse))>>10)
			if grew > 4*limit {
				t.Fatalf("allocated %d MiB inflating a bomb with a 1 MiB limit", grew>>20)
			}
			var evs []Event
			waitUntil(t, "EventDisconnected", func() { evs = poll(evs) }, func() bool {
				for _, ev := range evs {
					if ev.Kind == EventMessage {
						t.Fatal("the bomb was delivered")
					}
					if ev.Kind == EventDisconnected {
						if ev.Clean || !errors.Is(ev.Err, ErrMessageTooBig) {
							t.Fatalf("EventDisconnected clean %v err %v, want ErrMessageTooBig", ev.Clean, ev.Err)
						}
						return true
					}
				}
				return false
			})
		})
	}
}
