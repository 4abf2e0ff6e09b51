package interop

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestChromium: the browser's own WebSocket, in headless Chromium, against
// our server (a browser is only ever a client): subprotocol, text, binary
// (ArrayBuffer), large messages, heartbeats, close codes and reasons as the
// browser's CloseEvent reports them, and permessage-deflate (which Chromium
// always offers) on a second server.
func TestChromium(t *testing.T) {
	chromium := need(t, "chromium", "--version")
	logVersion(t, "chromium", func() string { return commandOutput(chromium, "--version") })
	page, err := os.ReadFile("chromium/index.html")
	if err != nil {
		t.Fatal(err)
	}
	plain := ourServer(t, ourOpts, "game")
	zopts := ourOpts
	zopts.Compression = true
	compressed := ourServer(t, zopts, "game")

	// The page comes from a loopback HTTP server, which also takes its reports.
	reports := make(chan map[string]any, 4)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err == nil {
			reports <- m
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close(); <-served })

	start(t, "", nil, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		fmt.Sprintf("http://%s/?port=%d&zport=%d", ln.Addr(), plain.srv.Port(), compressed.srv.Port()))
	report := func(conn, code int, reason string) {
		t.Helper()
		select {
		case r := <-reports:
			if r["conn"] != float64(conn) || r["code"] != float64(code) || r["reason"] != reason || r["clean"] != true {
				t.Fatalf("the browser's CloseEvent: %v, want conn %d, code %d, reason %q, clean", r, conn, code, reason)
			}
		case <-time.After(timeout):
			t.Fatalf("no report from the browser about connection %d", conn)
		}
	}

	// 1: the matrix, then the browser closes with 4001 "peer says bye".
	s := plain.next()
	if s.conn.Protocol() != "game" || s.conn.Request().Path != "/browser1" {
		t.Fatalf("subprotocol %q, path %q", s.conn.Protocol(), s.conn.Request().Path)
	}
	s.sendText("cmd:protocol")
	s.expect("the browser's WebSocket.protocol", true, []byte("protocol:game"))
	exercise(s, caps{large: 1 << 20, checkExt: true, deflate: false})
	peerCloses(s, caps{})
	// The browser's CloseEvent shows the close frame we answered with: its
	// code, no reason.
	report(1, 4001, "")

	// 2: we close with 4002 "we say bye".
	s = plain.next()
	if err := s.conn.Close(4002, "we say bye"); err != nil {
		t.Fatal(err)
	}
	if ev := s.disconnected(); !ev.Clean || ev.Code != 4002 {
		t.Fatalf("our close with the browser was not clean: %+v", ev)
	}
	report(2, 4002, "we say bye")

	// 3: the matrix again with permessage-deflate, then we close.
	s = compressed.next()
	exercise(s, caps{large: 1 << 20, checkExt: true, deflate: true})
	before := s.conn.Stats()
	for i := 0; i < workloadCount; i++ {
		s.send(workloadMessage(i), true)
		s.expect("workload echo", true, workloadMessage(i))
	}
	after := s.conn.Stats()
	t.Logf("with Chromium's permessage-deflate: %d payload bytes sent as %d wire bytes, %d received as %d (%s, heartbeats included)",
		after.BytesOut-before.BytesOut, after.WireBytesOut-before.WireBytesOut,
		after.BytesIn-before.BytesIn, after.WireBytesIn-before.WireBytesIn, workloadDesc)
	if out := after.WireBytesOut - before.WireBytesOut; out*3 > after.BytesOut-before.BytesOut {
		t.Errorf("compressed stream is %d bytes", out)
	}
	if err := s.conn.Close(4003, "compressed bye"); err != nil {
		t.Fatal(err)
	}
	if ev := s.disconnected(); !ev.Clean || ev.Code != 4003 {
		t.Fatalf("our close with the browser was not clean: %+v", ev)
	}
	report(3, 4003, "compressed bye")
	if n := len(plain.srv.PeerIDs(nil)) + len(compressed.srv.PeerIDs(nil)); n != 0 {
		t.Fatalf("%d peers still listed", n)
	}
}
