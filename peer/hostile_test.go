package peer

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Hostile input: malformed or abusive handshakes and compression bombs are
// refused with the right status or close code, in bounded time and memory.

// upgradeStatus sends a raw request and returns the response status (0 when
// the server closed the connection without answering).
func upgradeStatus(t *testing.T, srv *Server, request string) int {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = conn.Write([]byte(request)) }() // may block on huge requests the server stops reading
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

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
	srv, sp := newServer(t, Options{HandshakeTimeout: time.Second})
	cases := []struct {
		name    string
		request string
		want    int
	}{
		{"valid", upgradeRequest("", ""), 101},
		{"missing Sec-WebSocket-Key", upgradeRequest("Sec-WebSocket-Key", ""), 400},
		{"malformed Sec-WebSocket-Key", upgradeRequest("Sec-WebSocket-Key", "Sec-WebSocket-Key: short\r\n"), 400},
		{"missing Sec-WebSocket-Version", upgradeRequest("Sec-WebSocket-Version", ""), 400},
		{"wrong Sec-WebSocket-Version", upgradeRequest("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n"), 400},
		{"missing Upgrade", upgradeRequest("Upgrade", ""), 400},
		{"bad Upgrade", upgradeRequest("Upgrade", "Upgrade: h2c\r\n"), 400},
		{"missing Connection", upgradeRequest("Connection", ""), 400},
		{"POST", strings.Replace(upgradeRequest("", ""), "GET", "POST", 1), 405},
		{"huge header", upgradeRequest("", "X-Big: "+strings.Repeat("a", 1<<20)+"\r\n"), 431},
		{"not HTTP", "\x16\x03\x01\x00\xa5garbage\r\n\r\n", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := upgradeStatus(t, srv, c.request); got != c.want {
				t.Fatalf("status %d, want %d", got, c.want)
			}
		})
	}
	// Only the valid request became a peer.
	waitUntil(t, "the valid peer", sp.step, func() bool { return sp.count(EventConnected) == 1 })
	sp.step()
	if n := sp.count(EventConnected); n != 1 {
		t.Fatalf("%d peers connected, want 1", n)
	}
}

// A slowloris sending its request one byte at a time is dropped after the
// handshake timeout, and does not hold up other clients.
func TestSlowlorisDropped(t *testing.T) {
	srv, _ := newServer(t, Options{HandshakeTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	req := upgradeRequest("", "")
	dropped := make(chan time.Duration, 1)
	go func() {
		for i := 0; i < len(req); i++ {
			if _, err := conn.Write([]byte{req[i]}); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = conn.Read(make([]byte, 1))
		dropped <- time.Since(start)
	}()
	// Meanwhile a normal client gets in.
	if got := upgradeStatus(t, srv, upgradeRequest("", "")); got != 101 {
		t.Fatalf("a normal client got %d while a slowloris was connected", got)
	}
	select {
	case d := <-dropped:
		if d > 3*time.Second {
			t.Fatalf("slowloris dropped after %v with a 300ms handshake timeout", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slowloris never dropped")
	}
}

// Floods beyond MaxConnections are refused with 503 before the upgrade.
func TestConnectionFloodRefused(t *testing.T) {
	srv, sp := newServer(t, Options{MaxConnections: 5})
	var conns []*rawPeer
	for i := 0; i < 5; i++ {
		conns = append(conns, dialRaw(t, srv, ""))
	}
	refused := 0
	for i := 0; i < 50; i++ {
		if upgradeStatus(t, srv, upgradeRequest("", "")) == 503 {
			refused++
		}
	}
	if refused != 50 {
		t.Fatalf("%d of 50 connections over the limit refused with 503", refused)
	}
	waitUntil(t, "5 peers", sp.step, func() bool { return sp.count(EventConnected) == 5 })
	_ = conns
}

// A compression bomb: a small compressed frame that inflates past the
// inbound limit closes the connection with 1009, with bounded memory.
func TestCompressionBomb(t *testing.T) {
	srv, _ := newServer(t, Options{Compression: true, InboundBufferSize: 1 << 20})
	p := dialRaw(t, srv, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n")
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 32; i++ { // 32 MiB of zeros
		_, _ = fw.Write(zeros)
	}
	_ = fw.Flush()
	payload := bytes.TrimSuffix(comp.Bytes(), []byte{0, 0, 0xff, 0xff})
	t.Logf("bomb: %d compressed bytes for 32 MiB", len(payload))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	go p.write(rawFrame(frame{fin: true, rsv: 0x40, op: opBinary, payload: payload, masked: true}, -1))
	o := p.collect(5 * time.Second)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if o.closeCode != 1009 {
		t.Fatalf("close code %d, want 1009", o.closeCode)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 16<<20 {
		t.Fatalf("allocated %d MiB inflating a bomb with a 1 MiB limit", grew>>20)
	}
}
