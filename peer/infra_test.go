package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestInfraTrustedProxiesParse(t *testing.T) {
	ts, err := parseTrusted([]string{"127.0.0.1", " 10.0.0.0/8 ", "[::1]", "fd00::/8", "::ffff:192.168.1.0/120", ""})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.2": false, "10.200.3.4": true, "11.0.0.1": false,
		"::1": true, "fd12::1": true, "fe80::1": false, "192.168.1.77": true, "192.168.2.1": false,
		"::ffff:10.1.1.1": true, // IPv4-mapped compares as IPv4
	} {
		if got := ts.contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("contains(%s) = %v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "1.2.3", "10.0.0.1:80"} {
		if _, err := parseTrusted([]string{bad}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("parseTrusted(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func TestInfraClientAddrRightMostUntrusted(t *testing.T) {
	ts, _ := parseTrusted([]string{"10.0.0.0/8", "127.0.0.1"})
	proxy := hop{addr: netip.MustParseAddr("10.0.0.5"), port: 40000}
	stranger := hop{addr: netip.MustParseAddr("198.51.100.9"), port: 5555}
	h := func(kv ...string) http.Header {
		hd := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			hd.Add(kv[i], kv[i+1])
		}
		return hd
	}
	for _, tc := range []struct {
		name string
		peer hop
		hdr  http.Header
		host string
		port int
	}{
		{"untrusted peer: headers ignored", stranger, h("X-Forwarded-For", "1.2.3.4", "X-Real-IP", "1.2.3.4", "Forwarded", "for=1.2.3.4"), "198.51.100.9", 5555},
		{"trusted peer, no headers", proxy, h(), "10.0.0.5", 40000},
		{"xff one hop", proxy, h("X-Forwarded-For", "203.0.113.7"), "203.0.113.7", 0},
		{"xff spoofed left part ignored", proxy, h("X-Forwarded-For", "6.6.6.6, 203.0.113.7"), "203.0.113.7", 0},
		{"xff through two trusted proxies", proxy, h("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.1.1.1"), "203.0.113.7", 0},
		{"xff split over header lines", proxy, h("X-Forwarded-For", "6.6.6.6", "X-Forwarded-For", "203.0.113.7, 10.1.1.1"), "203.0.113.7", 0},
		{"xff all trusted: left-most", proxy, h("X-Forwarded-For", "10.9.9.9, 10.1.1.1"), "10.9.9.9", 0},
		{"xff garbage hop stops at the trusted one", proxy, h("X-Forwarded-For", "203.0.113.7, garbage, 10.1.1.1"), "10.1.1.1", 0},
		{"xff with port", proxy, h("X-Forwarded-For", "203.0.113.7:6000"), "203.0.113.7", 6000},
		{"x-real-ip", proxy, h("X-Real-IP", "203.0.113.8"), "203.0.113.8", 0},
		{"forwarded wins over xff", proxy, h("Forwarded", `for="[2001:db8::7]:4711";proto=https`, "X-Forwarded-For", "203.0.113.7"), "2001:db8::7", 4711},
		{"forwarded list", proxy, h("Forwarded", `for=6.6.6.6, for="203.0.113.9:1234";by=10.0.0.5, for=10.1.1.1`), "203.0.113.9", 1234},
		{"forwarded unknown", proxy, h("Forwarded", "for=unknown"), "10.0.0.5", 40000},
		{"ipv6 xff", proxy, h("X-Forwarded-For", "2001:db8::1"), "2001:db8::1", 0},
	} {
		got := clientAddr(ts, tc.peer, tc.hdr)
		if got.host() != tc.host || got.port != tc.port {
			t.Errorf("%s: got %s port %d, want %s port %d", tc.name, got.host(), got.port, tc.host, tc.port)
		}
	}
}

// connectHeaders connects a client with extra request headers and returns
// the server's side.
func connectHeaders(t *testing.T, srv *Server, sp *poller, hdr http.Header) *Conn {
	t.Helper()
	cl, cp := newClient(t, Options{Header: hdr})
	if err := cl.Connect(wsURL(srv, "/game?x=1")); err != nil {
		t.Fatal(err)
	}
	var sc *Conn
	waitUntil(t, "connected", func() { sp.step(); cp.step() }, func() bool {
		if ev, ok := cp.find(EventConnectError, nil); ok {
			t.Fatalf("connect error: %v", ev.Err)
		}
		ev, ok := sp.find(EventConnected, nil)
		sc = ev.Conn
		_, ok2 := cp.find(EventConnected, nil)
		return ok && ok2
	})
	return sc
}

func TestInfraForwardedOnlyFromTrustedPeer(t *testing.T) {
	spoof := http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Real-Ip": {"203.0.113.8"}}
	srv, sp := newServer(t, Options{TrustedProxies: []string{"127.0.0.0/8"}})
	sc := connectHeaders(t, srv, sp, spoof)
	if sc.RemoteHost() != "203.0.113.7" || sc.RemotePort() != 0 {
		t.Fatalf("trusted peer: address %s:%d, want 203.0.113.7:0", sc.RemoteHost(), sc.RemotePort())
	}
	if r := sc.Request(); r.Host != "203.0.113.7" || r.Path != "/game" || r.Query != "x=1" {
		t.Fatalf("request info %+v", r)
	}

	srv2, sp2 := newServer(t, Options{TrustedProxies: []string{"10.0.0.0/8"}})
	sc2 := connectHeaders(t, srv2, sp2, spoof)
	if sc2.RemoteHost() != "127.0.0.1" || sc2.RemotePort() == 0 || sc2.Request().Host != "127.0.0.1" {
		t.Fatalf("untrusted peer: address %s:%d (request %s), want 127.0.0.1 and its port",
			sc2.RemoteHost(), sc2.RemotePort(), sc2.Request().Host)
	}

	srv3, sp3 := newServer(t, Options{}) // no trusted proxies: nothing believed
	sc3 := connectHeaders(t, srv3, sp3, spoof)
	if sc3.RemoteHost() != "127.0.0.1" {
		t.Fatalf("no trusted proxies: address %s", sc3.RemoteHost())
	}
}

func proxyV2(src, dst netip.AddrPort, local bool, tlv []byte) []byte {
	b := append([]byte(nil), proxyV2Sig...)
	cmd := byte(0x21)
	if local {
		cmd = 0x20
	}
	var addrs []byte
	fam := byte(0x11)
	if src.Addr().Is4() {
		a, d := src.Addr().As4(), dst.Addr().As4()
		addrs = append(append(addrs, a[:]...), d[:]...)
	} else {
		fam = 0x21
		a, d := src.Addr().As16(), dst.Addr().As16()
		addrs = append(append(addrs, a[:]...), d[:]...)
	}
	addrs = binary.BigEndian.AppendUint16(addrs, src.Port())
	addrs = binary.BigEndian.AppendUint16(addrs, dst.Port())
	addrs = append(addrs, tlv...)
	b = append(b, cmd, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addrs)))
	return append(b, addrs...)
}

func TestInfraProxyHeaderParse(t *testing.T) {
	src4 := netip.MustParseAddrPort("203.0.113.7:5123")
	dst4 := netip.MustParseAddrPort("10.0.0.1:443")
	src6 := netip.MustParseAddrPort("[2001:db8::7]:6123")
	dst6 := netip.MustParseAddrPort("[2001:db8::1]:443")
	good := []struct {
		name    string
		in      []byte
		proxied bool
		host    string
		port    int
	}{
		{"v1 tcp4", []byte("PROXY TCP4 203.0.113.7 10.0.0.1 5123 443\r\n"), true, "203.0.113.7", 5123},
		{"v1 tcp6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 6123 443\r\n"), true, "2001:db8::7", 6123},
		{"v1 unknown", []byte("PROXY UNKNOWN\r\n"), false, "", 0},
		{"v1 unknown with addresses", []byte("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"), false, "", 0},
		{"v2 tcp4", proxyV2(src4, dst4, false, nil), true, "203.0.113.7", 5123},
		{"v2 tcp6", proxyV2(src6, dst6, false, nil), true, "2001:db8::7", 6123},
		{"v2 tlv", proxyV2(src4, dst4, false, []byte{0x04, 0, 3, 'a', 'b', 'c'}), true, "203.0.113.7", 5123},
		{"v2 local", proxyV2(src4, dst4, true, nil), false, "", 0},
		{"v2 local empty", append(append([]byte(nil), proxyV2Sig...), 0x20, 0x00, 0, 0), false, "", 0},
	}
	rest := []byte("GET / HTTP/1.1\r\n\r\n")
	for _, tc := range good {
		r := bytes.NewReader(append(append([]byte(nil), tc.in...), rest...))
		h, proxied, err := readProxyHeader(r)
		if err != nil || proxied != tc.proxied || h.host() != tc.host || h.port != tc.port {
			t.Errorf("%s: got %v %v %s %d", tc.name, err, proxied, h.host(), h.port)
		}
		if left, _ := io.ReadAll(r); !bytes.Equal(left, rest) {
			t.Errorf("%s: the header reader took bytes after the header: left %q", tc.name, left)
		}
	}
	v2 := proxyV2(src4, dst4, false, nil)
	bad := []struct{ name, in, want string }{
		{"empty", "", "no PROXY header"},
		{"http instead", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "missing PROXY header"},
		{"v1 no crlf", "PROXY TCP4 203.0.113.7 10.0.0.1 5123 443\n", "malformed"},
		{"v1 bare lf early", "PROXY TCP4\n 203.0.113.7 10.0.0.1 5123 443\r\n", "malformed"},
		{"v1 too long", "PROXY TCP4 " + strings.Repeat("1", 120) + "\r\n", "no CRLF within"},
		{"v1 bad address", "PROXY TCP4 203.0.113.777 10.0.0.1 5123 443\r\n", "bad address"},
		{"v1 family mismatch", "PROXY TCP4 2001:db8::7 10.0.0.1 5123 443\r\n", "family"},
		{"v1 bad port", "PROXY TCP4 203.0.113.7 10.0.0.1 65536 443\r\n", "bad port"},
		{"v1 leading zero", "PROXY TCP4 203.0.113.7 10.0.0.1 05123 443\r\n", "bad port"},
		{"v1 bad proto", "PROXY UDP4 203.0.113.7 10.0.0.1 5123 443\r\n", "want PROXY"},
		{"v1 missing field", "PROXY TCP4 203.0.113.7 10.0.0.1 5123\r\n", "want PROXY"},
		{"v1 double space", "PROXY TCP4  203.0.113.7 10.0.0.1 5123 443\r\n", "want PROXY"},
		{"v1 truncated", "PROXY TCP4 203.0.113.7 10.0", "truncated"},
		{"v2 version 1", string(append(append([]byte(nil), v2[:12]...), append([]byte{0x11}, v2[13:]...)...)), "version"},
		{"v2 command 2", string(append(append([]byte(nil), v2[:12]...), append([]byte{0x22}, v2[13:]...)...)), "command"},
		{"v2 family 5", string(append(append([]byte(nil), v2[:13]...), append([]byte{0x51}, v2[14:]...)...)), "family"},
		{"v2 short block", string(append(append([]byte(nil), v2[:14]...), 0, 4, 1, 2, 3, 4)), "needs 12"},
		{"v2 truncated", string(v2[:20]), "truncated"},
		{"v2 too long", string(append(append([]byte(nil), v2[:14]...), 0xff, 0xff)), "too long"},
	}
	for _, tc := range bad {
		_, _, err := readProxyHeader(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// dialWith upgrades over a TCP connection that first sends pre (a PROXY
// header), returning the response status (101 when upgraded).
func dialWith(t *testing.T, port int, pre []byte) (*websocket.Conn, int, error) {
	t.Helper()
	d := websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil && len(pre) > 0 {
				_, err = nc.Write(pre)
			}
			return nc, err
		},
	}
	ws, resp, err := d.Dial("ws://127.0.0.1:"+strconv.Itoa(port)+"/", nil)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if ws != nil {
		t.Cleanup(func() { ws.Close() })
	}
	return ws, status, err
}

// errorEvent waits for an EventError and returns its text.
func errorEvent(t *testing.T, sp *poller) string {
	t.Helper()
	var msg string
	waitUntil(t, "an EventError", sp.step, func() bool {
		ev, ok := sp.find(EventError, nil)
		if ok {
			msg = ev.Err.Error()
		}
		return ok
	})
	return msg
}

func TestInfraProxyProtocolServer(t *testing.T) {
	srv, sp := newServer(t, Options{ProxyProtocol: true, TrustedProxies: []string{"127.0.0.1"}})
	for _, pre := range [][]byte{
		proxyV2(netip.MustParseAddrPort("203.0.113.7:5123"), netip.MustParseAddrPort("10.0.0.1:80"), false, nil),
		[]byte("PROXY TCP6 2001:db8::7 2001:db8::1 6123 80\r\n"),
	} {
		sp.events = nil
		if _, status, err := dialWith(t, srv.Port(), pre); err != nil {
			t.Fatalf("upgrade after %q: %v (HTTP %d)", pre, err, status)
		}
		var sc *Conn
		waitUntil(t, "peer", sp.step, func() bool {
			ev, ok := sp.find(EventConnected, nil)
			sc = ev.Conn
			return ok
		})
		if h, p := sc.RemoteHost(), sc.RemotePort(); !(h == "203.0.113.7" && p == 5123) && !(h == "2001:db8::7" && p == 6123) {
			t.Fatalf("address %s:%d, not the PROXY header's", h, p)
		}
	}
	// LOCAL (a health check of the proxy itself): the TCP peer's address.
	sp.events = nil
	if _, _, err := dialWith(t, srv.Port(), proxyV2(netip.MustParseAddrPort("203.0.113.7:1"), netip.MustParseAddrPort("10.0.0.1:80"), true, nil)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "peer", sp.step, func() bool { _, ok := sp.find(EventConnected, nil); return ok })
	if ev, _ := sp.find(EventConnected, nil); ev.Conn.RemoteHost() != "127.0.0.1" {
		t.Fatalf("LOCAL: address %s", ev.Conn.RemoteHost())
	}

	for _, tc := range []struct {
		name string
		pre  []byte
		want string
	}{
		{"malformed", []byte("PROXY TCP4 1.2.3.999 10.0.0.1 1 2\r\n"), "malformed PROXY v1 header"},
		{"missing", nil, "missing PROXY header"},
	} {
		sp.events = nil
		if _, status, err := dialWith(t, srv.Port(), tc.pre); err == nil {
			t.Fatalf("%s: upgraded (HTTP %d)", tc.name, status)
		}
		if msg := errorEvent(t, sp); !strings.Contains(msg, tc.want) || !strings.Contains(msg, "127.0.0.1") {
			t.Fatalf("%s: error %q", tc.name, msg)
		}
		if _, ok := sp.find(EventConnected, nil); ok {
			t.Fatalf("%s: a peer connected", tc.name)
		}
	}
}

func TestInfraProxyProtocolUntrustedAndSilent(t *testing.T) {
	srv, sp := newServer(t, Options{ProxyProtocol: true, TrustedProxies: []string{"10.0.0.0/8"}})
	pre := proxyV2(netip.MustParseAddrPort("203.0.113.7:5123"), netip.MustParseAddrPort("10.0.0.1:80"), false, nil)
	if _, status, err := dialWith(t, srv.Port(), pre); err == nil {
		t.Fatalf("untrusted PROXY header: upgraded (HTTP %d)", status)
	}
	if msg := errorEvent(t, sp); !strings.Contains(msg, "not a trusted proxy") {
		t.Fatalf("error %q", msg)
	}

	// A trusted proxy that sends nothing is dropped after the handshake timeout.
	srv2, sp2 := newServer(t, Options{ProxyProtocol: true, TrustedProxies: []string{"127.0.0.1"}, HandshakeTimeout: 300 * time.Millisecond})
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(srv2.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	if msg := errorEvent(t, sp2); !strings.Contains(msg, "no PROXY header") {
		t.Fatalf("error %q", msg)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("refused after %v, before the handshake timeout", d)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open")
	}

	if err := NewServer(Options{ProxyProtocol: true}).Listen(0, "127.0.0.1"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("PROXY protocol without trusted proxies: %v", err)
	}
}

// httpGet does a plain GET and returns the status and body.
func httpGet(t *testing.T, port int, path string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestInfraHealthPath(t *testing.T) {
	srv, sp := newServer(t, Options{HealthPath: "/healthz"})
	if st, body := httpGet(t, srv.Port(), "/healthz"); st != 200 || body != "ok" {
		t.Fatalf("serving: %d %q", st, body)
	}
	if st, _ := httpGet(t, srv.Port(), "/other"); st != http.StatusBadRequest {
		t.Fatalf("plain GET elsewhere: %d, want 400 (not an upgrade)", st)
	}
	// An upgrade on the health path is still an upgrade.
	if _, status, err := dialWith(t, srv.Port(), nil); err != nil {
		t.Fatalf("upgrade: %v %d", err, status)
	}
	d := websocket.Dialer{}
	ws, _, err := d.Dial(wsURL(srv, "/healthz"), nil)
	if err != nil {
		t.Fatalf("upgrade on the health path: %v", err)
	}
	ws.Close()
	if err := srv.Drain(time.Minute); err != nil {
		t.Fatal(err)
	}
	if st, body := httpGet(t, srv.Port(), "/healthz"); st != 503 || body != "draining" {
		t.Fatalf("draining: %d %q", st, body)
	}
	if _, status, err := dialWith(t, srv.Port(), nil); err == nil || status != 503 {
		t.Fatalf("upgrade while draining: %v, HTTP %d, want 503", err, status)
	}
	sp.step()

	off, _ := newServer(t, Options{})
	if st, _ := httpGet(t, off.Port(), "/healthz"); st != http.StatusBadRequest {
		t.Fatalf("health path off: %d", st)
	}
	if err := NewServer(Options{HealthPath: "healthz"}).Listen(0, "127.0.0.1"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("health path without /: %v", err)
	}
}

func TestInfraDrainPeersAndTimeout(t *testing.T) {
	srv, sp := newServer(t, Options{})
	type cli struct {
		cl *Client
		p  *poller
		sc *Conn
	}
	var cs []*cli
	for i := 0; i < 3; i++ {
		cl, p := newClient(t, Options{})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, &cli{cl: cl, p: p})
	}
	stepAll := func() {
		sp.step()
		for _, c := range cs {
			c.p.step()
		}
	}
	// Open on both ends: the server's EventConnected can come before the
	// client's own (under wine, Send then failed with ErrNotOpen).
	waitUntil(t, "3 peers", stepAll, func() bool {
		for _, c := range cs {
			if cn := c.cl.Conn(); cn == nil || cn.State() != StateOpen {
				return false
			}
		}
		return sp.count(EventConnected) == 3
	})
	if err := cs[2].cl.Conn().Send([]byte("last words"), WriteText); err != nil {
		t.Fatal(err)
	}

	const grace = 1500 * time.Millisecond
	start := time.Now()
	if err := srv.Drain(grace); err != nil {
		t.Fatal(err)
	}
	if !srv.Draining() {
		t.Fatal("not draining")
	}
	// A peer that finishes by itself leaves before the timeout, with its own close.
	if err := cs[0].cl.Disconnect(1000, "bye"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "peer 1 gone", stepAll, func() bool { return sp.count(EventDisconnected) == 1 })
	if _, ok := sp.find(EventDrained, nil); ok {
		t.Fatal("drained with peers left")
	}
	if d := time.Since(start); d >= grace {
		t.Skipf("machine too slow to check the grace period (%v)", d)
	}
	// The rest are closed with 1001 at the timeout; then EventDrained, once.
	waitUntil(t, "drained", stepAll, func() bool { _, ok := sp.find(EventDrained, nil); return ok })
	if d := time.Since(start); d < grace {
		t.Fatalf("drained after %v, before the timeout %v", d, grace)
	}
	if sp.count(EventDisconnected) != 3 || len(srv.PeerIDs(nil)) != 0 {
		t.Fatalf("drained with %d peers disconnected, %d left", sp.count(EventDisconnected), len(srv.PeerIDs(nil)))
	}
	if sp.count(EventMessage) != 1 {
		t.Fatalf("the message sent before the drain: %d received", sp.count(EventMessage))
	}
	for _, c := range cs[1:] {
		waitUntil(t, "client closed", stepAll, func() bool { _, ok := c.p.find(EventDisconnected, nil); return ok })
		ev, _ := c.p.find(EventDisconnected, nil)
		if !ev.Clean || ev.Code != 1001 || ev.Reason != "server draining" {
			t.Fatalf("client end: clean %v code %d reason %q, want 1001 \"server draining\"", ev.Clean, ev.Code, ev.Reason)
		}
	}
	for i := 0; i < 5; i++ {
		stepAll()
	}
	if sp.count(EventDrained) != 1 {
		t.Fatalf("EventDrained %d times", sp.count(EventDrained))
	}

	// No peers: drained on the next Poll; Drain(0) closes at once.
	idle, ip := newServer(t, Options{})
	_ = idle.Drain(0)
	ip.step()
	if _, ok := ip.find(EventDrained, nil); !ok {
		t.Fatal("an idle server did not report drained")
	}
	if err := NewServer(Options{}).Drain(time.Second); !errors.Is(err, ErrNotListening) {
		t.Fatalf("Drain before Listen: %v", err)
	}
}

// rawUpgrade sends an upgrade request and returns the response (body read).
func rawUpgrade(t *testing.T, port int, path string, hdr map[string]string) (*http.Response, string, net.Conn) {
	t.Helper()
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for k, v := range hdr {
		req += k + ": " + v + "\r\n"
	}
	if _, err := nc.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(testTimeout))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	body := ""
	if resp.StatusCode != 101 {
		b, _ := io.ReadAll(resp.Body)
		body = strings.TrimSpace(string(b))
	}
	return resp, body, nc
}

func TestInfraManualHandshake(t *testing.T) {
	srv, sp := newServer(t, Options{ManualHandshake: true, HandshakeTimeout: 400 * time.Millisecond,
		TrustedProxies: []string{"127.0.0.1"}})
	type result struct {
		resp *http.Response
		body string
	}
	start := func(path, token string) chan result {
		ch := make(chan result, 1)
		go func() {
			nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(srv.Port()))
			if err != nil {
				ch <- result{}
				return
			}
			defer nc.Close()
			req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
				"Authorization: Bearer " + token + "\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n"
			_, _ = nc.Write([]byte(req))
			_ = nc.SetReadDeadline(time.Now().Add(testTimeout))
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				ch <- result{}
				return
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			ch <- result{resp, strings.TrimSpace(string(b))}
		}()
		return ch
	}
	handshake := func(n int) Event {
		t.Helper()
		var ev Event
		waitUntil(t, "handshake event", sp.step, func() bool {
			c := 0
			for _, e := range sp.events {
				if e.Kind == EventHandshake {
					if c++; c == n {
						ev = e
						return true
					}
				}
			}
			return false
		})
		return ev
	}

	// Rejected: the status and reason reach the client; no peer.
	r1 := start("/play?room=7", "bad")
	ev1 := handshake(1)
	if ev1.ID <= 0 || ev1.Conn != nil || ev1.Request == nil || ev1.Request.Path != "/play" || ev1.Request.Query != "room=7" ||
		ev1.Request.Header.Get("Authorization") != "Bearer bad" || ev1.Request.Host != "203.0.113.5" {
		t.Fatalf("handshake event %+v %+v", ev1, ev1.Request)
	}
	if err := srv.RejectPeer(ev1.ID, 200, "x"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("reject with 200: %v", err)
	}
	if err := srv.RejectPeer(ev1.ID, 403, "bad token"); err != nil {
		t.Fatal(err)
	}
	if res := <-r1; res.resp == nil || res.resp.StatusCode != 403 || res.body != "bad token" {
		t.Fatalf("rejected: %+v %q", res.resp, res.body)
	}
	if err := srv.AcceptPeer(ev1.ID); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("accept after reject: %v", err)
	}

	// Accepted: the peer connects with the id of its handshake.
	r2 := start("/play", "good")
	ev2 := handshake(2)
	if ev2.ID <= ev1.ID {
		t.Fatalf("ids %d then %d", ev1.ID, ev2.ID)
	}
	if err := srv.AcceptPeer(ev2.ID); err != nil {
		t.Fatal(err)
	}
	if res := <-r2; res.resp == nil || res.resp.StatusCode != 101 {
		t.Fatalf("accepted: %+v", res.resp)
	}
	waitUntil(t, "connected", sp.step, func() bool { _, ok := sp.find(EventConnected, nil); return ok })
	if ev, _ := sp.find(EventConnected, nil); ev.ID != ev2.ID || ev.Conn.RemoteHost() != "203.0.113.5" {
		t.Fatalf("connected id %d (handshake %d), address %s", ev.ID, ev2.ID, ev.Conn.RemoteHost())
	}

	// Unanswered: refused with 503 after the handshake timeout.
	t0 := time.Now()
	r3 := start("/play", "slow")
	ev3 := handshake(3)
	res := <-r3
	if res.resp == nil || res.resp.StatusCode != 503 || !strings.Contains(res.body, "not answered") {
		t.Fatalf("unanswered: %+v %q", res.resp, res.body)
	}
	if d := time.Since(t0); d < 350*time.Millisecond {
		t.Fatalf("refused after %v, before the handshake timeout", d)
	}
	if err := srv.AcceptPeer(ev3.ID); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("accept after timeout: %v", err)
	}

	// Drain refuses held handshakes.
	r4 := start("/play", "late")
	ev4 := handshake(4)
	_ = srv.Drain(time.Minute)
	if res := <-r4; res.resp == nil || res.resp.StatusCode != 503 {
		t.Fatalf("held during drain: %+v", res.resp)
	}
	if ev4.ID <= ev3.ID {
		t.Fatalf("ids not increasing: %d then %d", ev3.ID, ev4.ID)
	}
	// A non-upgrade request is not held.
	if st, _ := httpGet(t, srv.Port(), "/"); st != 503 {
		t.Fatalf("plain GET while draining: %d", st)
	}
}

// The PROXY header comes before TLS (HAProxy passing wss through in TCP mode).
func TestInfraProxyProtocolBeforeTLS(t *testing.T) {
	cert, pool := testCert(t)
	srv, sp := newServer(t, Options{ProxyProtocol: true, TrustedProxies: []string{"127.0.0.1"},
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	pre := proxyV2(netip.MustParseAddrPort("[2001:db8::9]:7000"), netip.MustParseAddrPort("[2001:db8::1]:443"), false, nil)
	d := websocket.Dialer{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				_, err = nc.Write(pre)
			}
			return nc, err
		},
	}
	ws, _, err := d.Dial("wss://127.0.0.1:"+strconv.Itoa(srv.Port())+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var sc *Conn
	waitUntil(t, "peer", sp.step, func() bool {
		ev, ok := sp.find(EventConnected, nil)
		sc = ev.Conn
		return ok
	})
	if sc.RemoteHost() != "2001:db8::9" || sc.RemotePort() != 7000 {
		t.Fatalf("address %s:%d", sc.RemoteHost(), sc.RemotePort())
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "message", sp.step, func() bool { return sp.count(EventMessage) == 1 })
}
