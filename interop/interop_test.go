// Package interop checks peer/ against WebSocket implementations nobody here
// wrote: Node's ws, Python's websockets, Godot 3.2's WebSocketClient and
// WebSocketServer, and Chromium's WebSocket. Each runs as a process started
// and stopped by the test, on loopback, as an echo peer driven by text
// commands ("cmd:close:<code>:<reason>", "cmd:frag:<n>", "cmd:ping",
// "cmd:ext", "cmd:flood:<n>"); see peers/.
//
// A missing tool skips its tests, unless GOWS_REQUIRE_INTEROP=1 (CI), which
// makes it a failure.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gowebsocket/godot-gowebsocket/peer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const timeout = 20 * time.Second

// need returns the path of a tool, or skips (fails under GOWS_REQUIRE_INTEROP=1).
func need(t *testing.T, path string, check ...string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err == nil && len(check) > 0 {
		err = exec.Command(p, check...).Run()
	}
	if err != nil {
		if os.Getenv("GOWS_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s is required (GOWS_REQUIRE_INTEROP=1) but unusable: %v; run interop/setup.sh", path, err)
		}
		t.Skipf("%s not available (%v): run interop/setup.sh", path, err)
	}
	return p
}

func nodePath(t *testing.T) string {
	t.Helper()
	node := need(t, "node")
	if _, err := os.Stat(filepath.Join("node_modules", "ws", "package.json")); err != nil {
		if os.Getenv("GOWS_REQUIRE_INTEROP") == "1" {
			t.Fatal("interop/node_modules/ws is missing: run interop/setup.sh")
		}
		t.Skip("interop/node_modules/ws is missing: run interop/setup.sh")
	}
	return node
}

// Debian's python3 (not a pyenv one) has python3-websockets.
func pythonPath(t *testing.T) string {
	return need(t, "/usr/bin/python3", "-c", "import websockets")
}

// proc is a peer process whose stdout lines are collected.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	seen  []string
}

func start(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	return startIn(t, "", env, name, args...)
}

func startIn(t *testing.T, dir string, env []string, name string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
		cancel()
	})
	return p
}

// expect waits for a line starting with prefix (skipping others) and returns
// the rest.
func (p *proc) expect(prefix string) string {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("peer exited without printing %q (printed %q)", prefix, p.seen)
			}
			p.seen = append(p.seen, l)
			if rest, found := strings.CutPrefix(l, prefix); found {
				return strings.TrimSpace(rest)
			}
		case <-deadline:
			p.t.Fatalf("peer did not print %q within %v (printed %q)", prefix, timeout, p.seen)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// session is our side of one connection: a Client's or a Server peer's.
type session struct {
	t      *testing.T
	poll   func([]peer.Event) []peer.Event
	conn   *peer.Conn
	events []peer.Event
}

func (s *session) step() { s.events = s.poll(s.events[:0]); s.handle() }

// handle keeps only this connection's close events for later checks.
var closeEvents = map[*peer.Conn][]peer.Event{}

func (s *session) handle() {
	for _, ev := range s.events {
		if ev.Kind == peer.EventCloseRequest || ev.Kind == peer.EventDisconnected {
			closeEvents[ev.Conn] = append(closeEvents[ev.Conn], ev)
		}
	}
}

func (s *session) until(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s (state %v, %+v, close events %+v)", what, s.conn.State(), s.conn.Stats(), closeEvents[s.conn])
		}
		s.step()
		time.Sleep(200 * time.Microsecond)
	}
}

func (s *session) send(data []byte, text bool) {
	s.t.Helper()
	mode := peer.WriteBinary
	if text {
		mode = peer.WriteText
	}
	s.until("room to send", func() bool { return s.conn.Send(data, mode) != peer.ErrOutboundFull })
}

func (s *session) read(what string) peer.Message {
	s.t.Helper()
	var m peer.Message
	s.until(what, func() bool {
		var ok bool
		m, ok = s.conn.Read()
		return ok
	})
	return m
}

func (s *session) expect(what string, text bool, data []byte) {
	s.t.Helper()
	m := s.read(what)
	if m.Text != text || !bytes.Equal(m.Data, data) {
		s.t.Fatalf("%s: got text=%v %d bytes %.40q, want text=%v %d bytes %.40q", what, m.Text, len(m.Data), m.Data, text, len(data), data)
	}
}

func (s *session) disconnected() peer.Event {
	s.t.Helper()
	var ev peer.Event
	s.until("the disconnect", func() bool {
		for _, e := range closeEvents[s.conn] {
			if e.Kind == peer.EventDisconnected {
				ev = e
				return true
			}
		}
		return false
	})
	return ev
}

// caps says what a peer implementation can do.
type caps struct {
	large     int  // size of the large message it echoes
	fragments bool // sends fragmented messages on cmd:frag
	ping      bool // sends pings on cmd:ping
	ext       bool // reports extensions on cmd:ext (compression runs)
	noEmpty   bool // does not deliver empty messages
	nulReason bool // Godot 3.2.3 sends its close reason with a trailing NUL byte
}

// exercise runs the echo matrix on an open connection.
func exercise(s *session, c caps) {
	t := s.t
	s.send([]byte("héllo wörld"), true)
	s.expect("text echo", true, []byte("héllo wörld"))
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	s.send(bin, false)
	s.expect("binary echo", false, bin)
	if !c.noEmpty {
		s.send(nil, false)
		s.expect("empty binary echo", false, nil)
	}
	large := bytes.Repeat([]byte("0123456789abcdef"), c.large/16)
	s.send(large, false)
	s.expect(fmt.Sprintf("%d-byte echo", len(large)), false, large)
	for i := 0; i < 500; i++ {
		s.send([]byte(fmt.Sprintf("m%d", i)), true)
	}
	for i := 0; i < 500; i++ {
		s.expect("ordered echo", true, []byte(fmt.Sprintf("m%d", i)))
	}
	if c.fragments {
		s.send([]byte("cmd:frag:4"), true)
		s.expect("a message the peer sent in 4 fragments", true, []byte("p0p1p2p3"))
	}
	if c.ping {
		s.send([]byte("cmd:ping"), true)
		s.expect("the peer's ping answered by our pong", true, []byte("pong:hb"))
	}
	if c.ext {
		s.send([]byte("cmd:ext"), true)
		m := s.read("the extensions")
		if !strings.Contains(string(m.Data), "permessage-deflate") {
			t.Fatalf("compression not negotiated: peer reports %q", m.Data)
		}
	}
	// Our heartbeat pings are answered by the peer's pongs.
	s.until("an RTT from heartbeats", func() bool { return s.conn.RTT() > 0 })
}

// peerCloses asks the peer to close with a code and reason and checks what
// our side reports.
func peerCloses(s *session, c caps) {
	want := "peer says bye"
	if c.nulReason {
		want += "\x00" // reported as it arrived on the wire
	}
	s.send([]byte("cmd:close:4001:peer says bye"), true)
	ev := s.disconnected()
	var req *peer.Event
	for _, e := range closeEvents[s.conn] {
		if e.Kind == peer.EventCloseRequest {
			req = &e
		}
	}
	if req == nil || req.Code != 4001 || req.Reason != want {
		s.t.Fatalf("close request from the peer: %+v (reason %q)", req, req.Reason)
	}
	if !ev.Clean || ev.Code != 4001 || s.conn.CloseCode() != 4001 || s.conn.CloseReason() != want {
		s.t.Fatalf("after the peer's close: %+v, CloseCode %d %q", ev, s.conn.CloseCode(), s.conn.CloseReason())
	}
}

// weClose closes from our side and checks the peer saw code and reason.
func weClose(s *session, p *proc) {
	if err := s.conn.Close(4002, "we say bye"); err != nil {
		s.t.Fatal(err)
	}
	if ev := s.disconnected(); !ev.Clean {
		s.t.Fatalf("our close was not clean: %+v", ev)
	}
	p.expect("CLOSED 4002 we say bye")
}

// Heartbeats every 50 ms show the peers answer pings; the pong timeout is
// long because a peer inflating a backlog (ws with compression) answers late.
var ourOpts = peer.Options{HeartbeatInterval: 50 * time.Millisecond, PongTimeout: 10 * time.Second,
	InboundBufferSize: 8 << 20, OutboundBufferSize: 8 << 20}

// ourServer listens and returns a function that waits for the next peer.
func ourServer(t *testing.T, opts peer.Options, protocols ...string) (*peer.Server, func() *session) {
	srv := peer.NewServer(opts)
	if err := srv.Listen(0, "127.0.0.1", protocols); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	var pending []peer.Event
	next := func() *session {
		t.Helper()
		s := &session{t: t, poll: srv.Poll}
		deadline := time.Now().Add(timeout)
		for {
			pending = srv.Poll(pending)
			for i, ev := range pending {
				if ev.Kind == peer.EventConnected {
					s.conn = ev.Conn
					pending = append(pending[:i], pending[i+1:]...)
					return s
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("no peer connected to our server")
			}
			time.Sleep(time.Millisecond)
		}
	}
	return srv, next
}

// ourClient connects to url and waits for the connection.
func ourClient(t *testing.T, opts peer.Options, url string) *session {
	t.Helper()
	cl := peer.NewClient(opts)
	t.Cleanup(cl.Shutdown)
	if err := cl.Connect(url); err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, poll: cl.Poll, conn: cl.Conn()}
	s.until("our client to connect", func() bool {
		for _, ev := range s.events {
			if ev.Kind == peer.EventConnectError {
				t.Fatalf("connect to %s: %v", url, ev.Err)
			}
		}
		return s.conn.State() == peer.StateOpen
	})
	return s
}

type impl struct {
	name string
	caps caps
	// run starts the peer as a client of url, or (url == "") as a server on
	// port (0: its choice; it prints PORT).
	run func(t *testing.T, env []string, url string, port int) *proc
}

func implementations() []impl {
	nodeRun := func(t *testing.T, env []string, url string, port int) *proc {
		node := nodePath(t)
		if url != "" {
			return start(t, env, node, "peers/node_peer.js", "client", url)
		}
		return start(t, env, node, "peers/node_peer.js", "server", fmt.Sprint(port))
	}
	pyRun := func(t *testing.T, env []string, url string, port int) *proc {
		py := pythonPath(t)
		if url != "" {
			return start(t, env, py, "peers/python_peer.py", "client", url)
		}
		return start(t, env, py, "peers/python_peer.py", "server", fmt.Sprint(port))
	}
	godotRun := func(t *testing.T, env []string, url string, port int) *proc {
		godot := need(t, "godot3-server")
		env = append(env, "HOME="+t.TempDir(), "LANG=en_US.UTF-8", "LC_ALL=")
		if url != "" {
			env = append(env, "GD_MODE=client", "GD_ARG="+url)
		} else {
			env = append(env, "GD_MODE=server", fmt.Sprintf("GD_ARG=%d", port))
		}
		script, err := filepath.Abs("peers/godot3_peer.gd")
		if err != nil {
			t.Fatal(err)
		}
		// Godot 3 treats the working directory as its project (and writes
		// logs there): give it a scratch one.
		return startIn(t, t.TempDir(), env, godot, "--no-window", "-s", script)
	}
	return []impl{
		{"node-ws", caps{large: 1 << 20, fragments: true, ping: true}, nodeRun},
		{"python-websockets", caps{large: 1 << 20, fragments: true, ping: true}, pyRun},
		// Godot 3's default inbound buffer is 64 KiB.
		{"godot3", caps{large: 32 << 10, noEmpty: true, nulReason: true}, godotRun},
	}
}

// TestTheirClientOurServer: each implementation's client against our server.
func TestTheirClientOurServer(t *testing.T) {
	for _, im := range implementations() {
		t.Run(im.name, func(t *testing.T) {
			srv, next := ourServer(t, ourOpts)
			url := fmt.Sprintf("ws://127.0.0.1:%d/", srv.Port())
			im.run(t, nil, url, 0)
			s := next()
			exercise(s, im.caps)
			peerCloses(s, im.caps)
			p := im.run(t, nil, url, 0)
			weClose(next(), p)
		})
	}
}

// TestOurClientTheirServer: our client against each implementation's server.
func TestOurClientTheirServer(t *testing.T) {
	for _, im := range implementations() {
		t.Run(im.name, func(t *testing.T) {
			p := im.run(t, nil, "", freePort(t))
			url := "ws://127.0.0.1:" + p.expect("PORT ") + "/"
			s := ourClient(t, ourOpts, url)
			exercise(s, im.caps)
			peerCloses(s, im.caps)
			weClose(ourClient(t, ourOpts, url), p)
		})
	}
}

// TestCompression: permessage-deflate with ws and websockets, both
// directions, and the bytes on the wire for a text workload.
func TestCompression(t *testing.T) {
	workload := func(s *session) (payload, wire int64) {
		var b strings.Builder
		b.WriteString("[")
		for i := 0; i < 16; i++ {
			fmt.Fprintf(&b, `{"id":%d,"player":"ada","x":%d,"y":20,"state":"running","inventory":["sword","shield","potion"]},`, i, i*7)
		}
		b.WriteString("{}]")
		msg := []byte(b.String())
		before := s.conn.Stats()
		for i := 0; i < 200; i++ {
			s.send(msg, true)
			s.expect("compressed echo", true, msg)
		}
		after := s.conn.Stats()
		return after.BytesOut - before.BytesOut, after.WireBytesOut - before.WireBytesOut
	}
	for _, im := range implementations()[:2] {
		t.Run(im.name, func(t *testing.T) {
			var figures []string
			for _, deflate := range []bool{false, true} {
				env := []string{"DEFLATE=0"}
				opts := ourOpts
				if deflate {
					env = []string{"DEFLATE=1"}
					opts.Compression = true
				}
				c := im.caps
				c.ext = deflate
				// Our server, their client.
				srv, next := ourServer(t, opts)
				im.run(t, env, fmt.Sprintf("ws://127.0.0.1:%d/", srv.Port()), 0)
				s := next()
				exercise(s, c)
				payload, wire := workload(s)
				figures = append(figures, fmt.Sprintf("our server, deflate=%v: %d payload bytes -> %d wire bytes", deflate, payload, wire))
				if deflate && wire*3 > payload {
					t.Errorf("compressed stream is %d bytes for %d payload bytes", wire, payload)
				}
				if !deflate && wire < payload {
					t.Errorf("plain stream is %d bytes for %d payload bytes", wire, payload)
				}
				peerCloses(s, c)
				// Our client, their server.
				p := im.run(t, env, "", freePort(t))
				cs := ourClient(t, opts, "ws://127.0.0.1:"+p.expect("PORT ")+"/")
				exercise(cs, c)
				payload, wire = workload(cs)
				figures = append(figures, fmt.Sprintf("our client, deflate=%v: %d payload bytes -> %d wire bytes", deflate, payload, wire))
				if deflate && wire*3 > payload {
					t.Errorf("compressed stream is %d bytes for %d payload bytes", wire, payload)
				}
				weClose(cs, p)
			}
			t.Logf("compression with %s (200 messages of a 1.6 KB JSON text, echoed):\n  %s", im.name, strings.Join(figures, "\n  "))
		})
	}
}

// TestPeerKilled: a peer process killed with SIGKILL mid-stream. Our side
// reports an unclean end within a bound, keeps every message that arrived
// (in order, no gaps) and frees the connection.
func TestPeerKilled(t *testing.T) {
	for _, im := range implementations()[:2] {
		t.Run(im.name+"/their-server", func(t *testing.T) {
			p := im.run(t, nil, "", freePort(t))
			s := ourClient(t, ourOpts, "ws://127.0.0.1:"+p.expect("PORT ")+"/")
			s.send([]byte("cmd:flood:100000"), true)
			s.until("the flood to start", func() bool { return s.conn.Available() > 0 })
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			killed := time.Now()
			ev := s.disconnected()
			if d := time.Since(killed); d > 5*time.Second {
				t.Fatalf("the end was reported %v after the kill", d)
			}
			if ev.Clean || ev.Code != -1 || s.conn.State() != peer.StateClosed {
				t.Fatalf("after SIGKILL: %+v, state %v", ev, s.conn.State())
			}
			n := 0
			for {
				m, ok := s.conn.Read()
				if !ok {
					break
				}
				if string(m.Data) != fmt.Sprintf("f%d", n) {
					t.Fatalf("message %d is %q: lost or reordered", n, m.Data)
				}
				n++
			}
			t.Logf("%d messages arrived before the kill, all in order", n)
		})
		t.Run(im.name+"/their-client", func(t *testing.T) {
			srv, next := ourServer(t, ourOpts)
			p := im.run(t, nil, fmt.Sprintf("ws://127.0.0.1:%d/", srv.Port()), 0)
			s := next()
			s.send([]byte("hello"), true)
			s.expect("echo", true, []byte("hello"))
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			if ev := s.disconnected(); ev.Clean || ev.Code != -1 {
				t.Fatalf("after SIGKILL: %+v", ev)
			}
			if srv.Peer(s.conn.ID()) != nil || len(srv.PeerIDs(nil)) != 0 {
				t.Fatal("the killed peer is still listed")
			}
		})
	}
}

// TestChromium: the browser's WebSocket, in headless Chromium, against our
// server: text, binary (ArrayBuffer), subprotocol, close codes and reasons as
// the browser reports them.
func TestChromium(t *testing.T) {
	chromium := need(t, "chromium", "--version")
	srv, next := ourServer(t, ourOpts, "game")
	page, err := os.ReadFile("peers/browser.html")
	if err != nil {
		t.Fatal(err)
	}
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
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	start(t, nil, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), fmt.Sprintf("http://%s/?port=%d", ln.Addr(), srv.Port()))
	report := func() map[string]any {
		select {
		case m := <-reports:
			return m
		case <-time.After(timeout):
			t.Fatal("no report from the browser")
			return nil
		}
	}

	s := next()
	if s.conn.Protocol() != "game" {
		t.Fatalf("subprotocol %q", s.conn.Protocol())
	}
	s.send([]byte("cmd:protocol"), true)
	s.expect("the browser's ws.protocol", true, []byte("protocol:game"))
	exercise(s, caps{large: 1 << 20})
	peerCloses(s, caps{})
	// The browser's CloseEvent shows our answering close frame: its code, no reason.
	if r := report(); r["conn"] != 1.0 || r["code"] != 4001.0 || r["reason"] != "" || r["clean"] != true {
		t.Fatalf("browser report after its own close: %v", r)
	}
	s2 := next()
	if err := s2.conn.Close(4002, "we say bye"); err != nil {
		t.Fatal(err)
	}
	if ev := s2.disconnected(); !ev.Clean {
		t.Fatalf("our close with the browser was not clean: %+v", ev)
	}
	if r := report(); r["conn"] != 2.0 || r["code"] != 4002.0 || r["reason"] != "we say bye" || r["clean"] != true {
		t.Fatalf("browser report after our close: %v", r)
	}
}
