package peer

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestConnectURLValidation(t *testing.T) {
	cl, _ := newClient(t, Options{})
	cases := []struct {
		url  string
		want error
	}{
		{"", ErrInvalidURL},
		{"localhost:80", ErrUnsupportedURL}, // parses as scheme "localhost"
		{"//host/path", ErrInvalidURL},
		{"ws://", ErrInvalidURL},
		{"ws:///path", ErrInvalidURL},
		{"ws://host:0/", ErrInvalidURL},
		{"ws://host:99999/", ErrInvalidURL},
		{"ws://host:port/", ErrInvalidURL},
		{"ws://ho st/", ErrInvalidURL},
		{"ws:opaque", ErrInvalidURL},
		{"http://example.com/", ErrUnsupportedURL},
		{"ftp://example.com/", ErrUnsupportedURL},
	}
	for _, tc := range cases {
		if err := cl.Connect(tc.url); !errors.Is(err, tc.want) {
			t.Errorf("Connect(%q) = %v, want %v", tc.url, err, tc.want)
		}
	}
	if cl.Conn() != nil || cl.Status() != ClientDisconnected {
		t.Fatal("a rejected Connect created a connection")
	}
	for _, ok := range []string{"ws://127.0.0.1:1/x?y=z", "wss://example.com", "ws://[::1]:8080/"} {
		if _, err := ValidateURL(ok); err != nil {
			t.Errorf("ValidateURL(%q) = %v", ok, err)
		}
	}
}

// Connect returns at once; the handshake (here against a server that never
// answers) runs in a goroutine and its failure arrives through Poll.
func TestConnectIsNonBlockingAndHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	defer func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	}()
	cl, cp := newClient(t, Options{HandshakeTimeout: 300 * time.Millisecond})
	url := "ws://" + ln.Addr().String() + "/silent"
	start := time.Now()
	if err := cl.Connect(url); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("Connect blocked %v", d)
	}
	c := cl.Conn()
	if c == nil || c.State() != StateConnecting || c.URL() != url || cl.Status() != ClientConnecting {
		t.Fatalf("after Connect: conn %v status %v", c, cl.Status())
	}
	if err := cl.Connect(url); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Connect: %v", err)
	}
	if err := c.Send([]byte("x"), WriteBinary); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("Send while connecting: %v", err)
	}
	waitUntil(t, "connect error", cp.step, func() bool { _, ok := cp.find(EventConnectError, nil); return ok })
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("handshake gave up after %v", d)
	}
	ev, _ := cp.find(EventConnectError, nil)
	if ev.Err == nil || ev.Conn != c || c.State() != StateClosed || cl.Status() != ClientDisconnected {
		t.Fatalf("connect error event %+v", ev)
	}
	if _, ok := cp.find(EventDisconnected, nil); ok {
		t.Fatal("EventDisconnected after EventConnectError")
	}
}

func TestDisconnectWhileConnecting(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cl := NewClient(Options{HandshakeTimeout: 10 * time.Second})
	cp := &poller{poll: cl.Poll}
	if err := cl.Connect("ws://" + ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if err := cl.Disconnect(1000, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "connect error", cp.step, func() bool { _, ok := cp.find(EventConnectError, nil); return ok })
	if ev, _ := cp.find(EventConnectError, nil); !errors.Is(ev.Err, context.Canceled) {
		t.Fatalf("err %v", ev.Err)
	}
	cl.Shutdown()
	if err := cl.Connect("ws://" + ln.Addr().String()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Connect after Shutdown: %v", err)
	}
}

func TestRefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cl, cp := newClient(t, Options{})
	if err := cl.Connect("ws://" + addr + "/"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "connect error", cp.step, func() bool { _, ok := cp.find(EventConnectError, nil); return ok })
	ev, _ := cp.find(EventConnectError, nil)
	if !strings.Contains(ev.Err.Error(), "refused") {
		t.Fatalf("err %v", ev.Err)
	}
	if len(cp.events) != 1 {
		t.Fatalf("events %+v", cp.events)
	}
}

func serveHTTP(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { hs.Serve(ln); close(done) }()
	t.Cleanup(func() { hs.Close(); <-done })
	return ln.Addr().String()
}

func TestHandshakeFailureHTTP404(t *testing.T) {
	addr := serveHTTP(t, http.NotFoundHandler())
	cl, cp := newClient(t, Options{})
	if err := cl.Connect("ws://" + addr + "/nowhere"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "connect error", cp.step, func() bool { _, ok := cp.find(EventConnectError, nil); return ok })
	ev, _ := cp.find(EventConnectError, nil)
	if !errors.Is(ev.Err, websocket.ErrBadHandshake) || !strings.Contains(ev.Err.Error(), "404") {
		t.Fatalf("err %v", ev.Err)
	}
}

func TestSubprotocolNegotiation(t *testing.T) {
	srv, sp := newServer(t, Options{}, "b", "c")
	for _, tc := range []struct {
		offer []string
		want  string
	}{
		{[]string{"a", "c", "b"}, "c"}, // the client's first that the server lists
		{[]string{"b", "c"}, "b"},
		{[]string{"x"}, ""},
		{nil, ""},
	} {
		cl, cp := newClient(t, Options{Protocols: tc.offer})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		n := sp.count(EventConnected)
		waitUntil(t, "connected", func() { cp.step(); sp.step() }, func() bool {
			_, ok := cp.find(EventConnected, nil)
			return ok && sp.count(EventConnected) > n
		})
		cev, _ := cp.find(EventConnected, nil)
		var sev Event
		for _, ev := range sp.events {
			if ev.Kind == EventConnected {
				sev = ev
			}
		}
		if cev.Protocol != tc.want || cl.Conn().Protocol() != tc.want || sev.Protocol != tc.want || sev.Conn.Protocol() != tc.want {
			t.Fatalf("offer %v: client %q server %q, want %q", tc.offer, cev.Protocol, sev.Protocol, tc.want)
		}
		cl.Shutdown()
	}
}

func TestRequestInfoHeadersAndHostPort(t *testing.T) {
	srv, sp := newServer(t, Options{ExtraHeaders: http.Header{"X-Server": {"one"}}})
	cl, cp := newClient(t, Options{Header: http.Header{"X-Token": {"secret"}, "Cookie": {"a=b"}}})
	url := wsURL(srv, "/game/room?id=5&x=y")
	if err := cl.Connect(url); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "connected", func() { cp.step(); sp.step() }, func() bool {
		_, a := cp.find(EventConnected, nil)
		_, b := sp.find(EventConnected, nil)
		return a && b
	})
	ev, _ := sp.find(EventConnected, nil)
	sc := ev.Conn
	req := sc.Request()
	if req.Path != "/game/room" || req.Query != "id=5&x=y" || req.Header.Get("X-Token") != "secret" || req.Header.Get("Cookie") != "a=b" {
		t.Fatalf("request info %+v", req)
	}
	if sc.URL() != "/game/room?id=5&x=y" || cl.Conn().URL() != url {
		t.Fatalf("urls %q %q", sc.URL(), cl.Conn().URL())
	}
	cc := cl.Conn()
	if cc.RemoteHost() != "127.0.0.1" || cc.RemotePort() != srv.Port() || sc.RemoteHost() != "127.0.0.1" || sc.RemotePort() == 0 {
		t.Fatalf("hosts %s:%d %s:%d", cc.RemoteHost(), cc.RemotePort(), sc.RemoteHost(), sc.RemotePort())
	}
	if err := cc.SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	if srv.Peer(sc.ID()) != sc {
		t.Fatal("Peer(id)")
	}
	if ids := srv.PeerIDs(nil); len(ids) != 1 || ids[0] != sc.ID() {
		t.Fatalf("ids %v", ids)
	}

	// Extra headers reach the upgrade response (seen with a plain gorilla dialer).
	srv.SetExtraHeaders(http.Header{"X-Server": {"two"}, "Set-Cookie": {"s=1"}})
	ws, resp, err := websocket.DefaultDialer.Dial(wsURL(srv, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.Close()
	if resp.Header.Get("X-Server") != "two" || resp.Header.Get("Set-Cookie") != "s=1" {
		t.Fatalf("response headers %v", resp.Header)
	}
}

func TestServerPort0AndBind(t *testing.T) {
	srv := NewServer(Options{})
	if srv.Port() != 0 || srv.Listening() {
		t.Fatal("fresh server")
	}
	if err := srv.Listen(-1, "*"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("port -1: %v", err)
	}
	if err := srv.Listen(0, "*"); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if srv.Port() == 0 || !srv.Listening() {
		t.Fatal("port 0 not resolved")
	}
	if err := srv.Listen(0, "*"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Listen: %v", err)
	}
	// The port is really bound on all interfaces: a second listener on it fails.
	other := NewServer(Options{})
	if err := other.Listen(srv.Port(), "127.0.0.1"); err == nil {
		other.Stop()
		t.Fatal("port not in use")
	}
	cl, cp := newClient(t, Options{})
	if err := cl.Connect("ws://localhost:" + strconv.Itoa(srv.Port())); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "connected", cp.step, func() bool { _, ok := cp.find(EventConnected, nil); return ok })
}

func TestServerStopWithPeers(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := NewServer(Options{})
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	sp := &poller{poll: srv.Poll}
	const n = 5
	var cls []*Client
	var cps []*poller
	for i := 0; i < n; i++ {
		cl := NewClient(Options{})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		cls = append(cls, cl)
		cps = append(cps, &poller{poll: cl.Poll})
	}
	stepAll := func() {
		sp.step()
		for _, p := range cps {
			p.step()
		}
	}
	waitUntil(t, "all connected", stepAll, func() bool { return sp.count(EventConnected) == n })
	// traffic in flight
	for _, cl := range cls {
		waitUntil(t, "client open", stepAll, func() bool { return cl.Conn().State() == StateOpen })
		for i := 0; i < 100; i++ {
			_ = cl.Conn().Send(make([]byte, 1000), WriteBinary)
		}
	}
	start := time.Now()
	srv.Stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	if srv.Listening() || srv.Port() != 0 {
		t.Fatal("still listening")
	}
	sp.step()
	if got := sp.count(EventDisconnected); got != n {
		t.Fatalf("server disconnects after Stop: %d", got)
	}
	if ids := srv.PeerIDs(nil); len(ids) != 0 {
		t.Fatalf("peers left %v", ids)
	}
	for _, cp := range cps {
		waitUntil(t, "client disconnected", cp.step, func() bool { _, ok := cp.find(EventDisconnected, nil); return ok })
		req, _ := cp.find(EventCloseRequest, nil)
		ev, _ := cp.find(EventDisconnected, nil)
		if req.Code != 1001 || !ev.Clean || ev.Code != 1001 {
			t.Fatalf("client saw %+v / %+v", req, ev)
		}
	}
	for _, cl := range cls {
		cl.Shutdown()
	}
}

func TestPeerIDsNeverReused(t *testing.T) {
	srv, sp := newServer(t, Options{})
	var ids []int32
	connectOne := func() {
		cl, cp := newClient(t, Options{})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		n := sp.count(EventConnected)
		waitUntil(t, "connected", func() { cp.step(); sp.step() }, func() bool {
			_, ok := cp.find(EventConnected, nil)
			return ok && sp.count(EventConnected) > n
		})
		for i := len(sp.events) - 1; i >= 0; i-- {
			if sp.events[i].Kind == EventConnected {
				ids = append(ids, sp.events[i].ID)
				break
			}
		}
		cl.Shutdown()
	}
	for i := 0; i < 3; i++ {
		connectOne()
	}
	srv.Stop()
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		connectOne()
	}
	for i, id := range ids {
		if id != int32(i+1) {
			t.Fatalf("ids %v", ids)
		}
	}
}

func TestMaxConnections(t *testing.T) {
	srv, sp := newServer(t, Options{MaxConnections: 2})
	for i := 0; i < 2; i++ {
		cl, cp := newClient(t, Options{})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "connected", func() { cp.step(); sp.step() }, func() bool { _, ok := cp.find(EventConnected, nil); return ok })
	}
	cl, cp := newClient(t, Options{})
	if err := cl.Connect(wsURL(srv, "/")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "refused", cp.step, func() bool { _, ok := cp.find(EventConnectError, nil); return ok })
	if ev, _ := cp.find(EventConnectError, nil); !strings.Contains(ev.Err.Error(), "503") {
		t.Fatalf("err %v", ev.Err)
	}
	// A slot frees when a peer leaves.
	sp.step()
	first := sp.events[0].Conn
	if err := first.Close(1000, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "peer gone", sp.step, func() bool { _, ok := sp.find(EventDisconnected, nil); return ok })
	cl2, cp2 := newClient(t, Options{})
	if err := cl2.Connect(wsURL(srv, "/")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "connected after a slot freed", func() { cp2.step(); sp.step() }, func() bool {
		if ev, ok := cp2.find(EventConnectError, nil); ok {
			t.Fatalf("refused: %v", ev.Err)
		}
		_, ok := cp2.find(EventConnected, nil)
		return ok
	})
}

func TestAllowedOrigins(t *testing.T) {
	srv, _ := newServer(t, Options{AllowedOrigins: []string{"https://good.example"}})
	for _, tc := range []struct {
		origin string
		ok     bool
	}{{"https://good.example", true}, {"https://evil.example", false}, {"", true}} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		cl, cp := newClient(t, Options{Header: h})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "outcome", cp.step, func() bool { return len(cp.events) > 0 })
		ev := cp.events[0]
		if tc.ok && ev.Kind != EventConnected || !tc.ok && (ev.Kind != EventConnectError || !strings.Contains(ev.Err.Error(), "403")) {
			t.Fatalf("origin %q: %+v", tc.origin, ev)
		}
		cl.Shutdown()
	}
}

// A peer that sends a text frame with invalid UTF-8 is failed with 1007 (and
// the message's pooled buffer is returned).
func TestInvalidUTF8ReceivedCloses1007(t *testing.T) {
	out := traceBufs(t)
	srv, sp := newServer(t, Options{})
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(srv, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte{'o', 'k', 0xff}); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(testTimeout))
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 1007 {
		t.Fatalf("client read %v", err)
	}
	ws.Close()
	waitUntil(t, "server disconnect", sp.step, func() bool { _, ok := sp.find(EventDisconnected, nil); return ok })
	ev, _ := sp.find(EventDisconnected, nil)
	if ev.Clean || !errors.Is(ev.Err, ErrInvalidUTF8) || ev.Conn.Available() != 0 {
		t.Fatalf("server %+v", ev)
	}
	srv.Stop()
	if n := out.Load(); n != 0 {
		t.Fatalf("%d pooled buffers not returned", n)
	}
}

// A close frame without a status reports 1005 (and is answered).
func TestCloseWithoutStatusIs1005(t *testing.T) {
	srv, sp := newServer(t, Options{})
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(srv, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteControl(websocket.CloseMessage, nil, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(testTimeout))
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNoStatusReceived {
		t.Fatalf("echo %v", err)
	}
	waitUntil(t, "server disconnect", sp.step, func() bool { _, ok := sp.find(EventDisconnected, nil); return ok })
	req, _ := sp.find(EventCloseRequest, nil)
	ev, _ := sp.find(EventDisconnected, nil)
	if req.Code != 1005 || !ev.Clean || ev.Code != 1005 {
		t.Fatalf("server %+v %+v", req, ev)
	}
}

// A peer that never answers our close frame is dropped after CloseTimeout.
func TestCloseTimeout(t *testing.T) {
	srv, sp := newServer(t, Options{CloseTimeout: 200 * time.Millisecond})
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(srv, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close() // never reads, so never answers
	waitUntil(t, "peer", sp.step, func() bool { _, ok := sp.find(EventConnected, nil); return ok })
	ev, _ := sp.find(EventConnected, nil)
	start := time.Now()
	if err := ev.Conn.Close(1000, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "server disconnect", sp.step, func() bool { _, ok := sp.find(EventDisconnected, nil); return ok })
	d := time.Since(start)
	ev, _ = sp.find(EventDisconnected, nil)
	if ev.Clean || ev.Code != -1 || !errors.Is(ev.Err, ErrCloseTimeout) || d < 150*time.Millisecond {
		t.Fatalf("after %v: %+v", d, ev)
	}
}

func TestStats(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	for i := 0; i < 10; i++ {
		if err := r.cc.Send(make([]byte, 100), WriteBinary); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.sc.Send([]byte("hi"), WriteText); err != nil {
		t.Fatal(err)
	}
	r.until("delivered", func() bool { return r.sc.Available() == 10 && r.cc.Available() == 1 })
	cs, ss := r.cc.Stats(), r.sc.Stats()
	if cs.MessagesOut != 10 || cs.BytesOut != 1000 || cs.MessagesIn != 1 || cs.BytesIn != 2 || cs.WireBytesOut <= 1000 || cs.WireBytesIn <= 2 {
		t.Fatalf("client stats %+v", cs)
	}
	if ss.MessagesIn != 10 || ss.BytesIn != 1000 || ss.QueuedIn != 1000 || ss.MessagesOut != 1 || ss.WireBytesIn <= 1000 {
		t.Fatalf("server peer stats %+v", ss)
	}
	for r.sc.Available() > 0 {
		r.sc.Read()
	}
	if q := r.sc.Stats().QueuedIn; q != 0 {
		t.Fatalf("queued after reading %d", q)
	}
	tot := r.srv.Stats()
	if tot.Peers != 1 || tot.MessagesIn != 10 || tot.BytesOut != 2 {
		t.Fatalf("server stats %+v", tot)
	}
}

func TestBroadcast(t *testing.T) {
	srv, sp := newServer(t, Options{})
	var cls []*Client
	var cps []*poller
	for i := 0; i < 3; i++ {
		cl, cp := newClient(t, Options{})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		cls, cps = append(cls, cl), append(cps, cp)
	}
	waitUntil(t, "3 peers", sp.step, func() bool { return sp.count(EventConnected) == 3 })
	if err := srv.Broadcast([]byte("all"), WriteText); err != nil {
		t.Fatal(err)
	}
	for i, cl := range cls {
		waitUntil(t, "broadcast", cps[i].step, func() bool { return cl.Conn().Available() == 1 })
		if m, _ := cl.Conn().Read(); string(m.Data) != "all" || !m.Text {
			t.Fatalf("got %+v", m)
		}
	}
}

func TestHeartbeatRTT(t *testing.T) {
	r := newRig(t, Options{HeartbeatInterval: 20 * time.Millisecond}, Options{HeartbeatInterval: 20 * time.Millisecond})
	r.until("RTT measured both sides", func() bool { return r.sc.RTT() > 0 && r.cc.RTT() > 0 })
	if r.sc.RTT() > time.Second || r.sc.Stats().RTT != r.sc.RTT() {
		t.Fatalf("rtt %v", r.sc.RTT())
	}
	// Still alive several intervals later (pongs keep it open).
	time.Sleep(150 * time.Millisecond)
	r.step()
	if r.sc.State() != StateOpen || r.cc.State() != StateOpen {
		t.Fatal("heartbeats closed a healthy connection")
	}
}

// A peer that stops answering pings is closed uncleanly after PongTimeout.
func TestPongTimeout(t *testing.T) {
	srv, sp := newServer(t, Options{HeartbeatInterval: 30 * time.Millisecond})
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(srv, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetPingHandler(func(string) error { return nil }) // swallow pings
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	waitUntil(t, "server disconnect", sp.step, func() bool { _, ok := sp.find(EventDisconnected, nil); return ok })
	d := time.Since(start)
	ev, _ := sp.find(EventDisconnected, nil)
	if ev.Clean || !errors.Is(ev.Err, ErrPongTimeout) || d < 60*time.Millisecond {
		t.Fatalf("after %v: %+v", d, ev)
	}
}

func TestAutoReconnect(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := NewServer(Options{})
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	port := srv.Port()
	sp := &poller{poll: srv.Poll}
	cl := NewClient(Options{AutoReconnect: true, ReconnectMinDelay: 20 * time.Millisecond, ReconnectMaxDelay: 80 * time.Millisecond})
	cp := &poller{poll: cl.Poll}
	if err := cl.Connect(wsURL(srv, "/")); err != nil {
		t.Fatal(err)
	}
	first := cl.Conn()
	waitUntil(t, "connected", func() { cp.step(); sp.step() }, func() bool { return cp.count(EventConnected) == 1 })
	srv.Stop() // server goes away: the client reconnects with back-off
	waitUntil(t, "reconnect attempts", cp.step, func() bool { return cp.count(EventReconnecting) >= 3 })
	if err := cl.Connect(wsURL(srv, "/")); !errors.Is(err, ErrBusy) {
		t.Fatalf("Connect while reconnecting: %v", err)
	}
	var attempts []int
	for _, ev := range cp.events {
		if ev.Kind == EventReconnecting {
			attempts = append(attempts, ev.Attempt)
			if ev.Delay < 10*time.Millisecond || ev.Delay > 80*time.Millisecond {
				t.Fatalf("delay %v", ev.Delay)
			}
		}
	}
	if attempts[0] != 1 || attempts[1] != 2 || attempts[2] != 3 {
		t.Fatalf("attempts %v", attempts)
	}
	if err := srv.Listen(port, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "reconnected", func() { cp.step(); sp.step() }, func() bool { return cp.count(EventConnected) == 2 })
	if cl.Conn() == first || cl.Conn().State() != StateOpen || cl.Status() != ClientConnected {
		t.Fatal("current conn not the new one")
	}
	// Disconnect stops reconnecting.
	if err := cl.Disconnect(1000, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "closed", func() { cp.step(); sp.step() }, func() bool { return cl.Conn().State() == StateClosed })
	n := cp.count(EventReconnecting)
	time.Sleep(150 * time.Millisecond)
	cp.step()
	if cp.count(EventReconnecting) != n {
		t.Fatal("reconnected after Disconnect")
	}
	cl.Shutdown()
	srv.Stop()
}
