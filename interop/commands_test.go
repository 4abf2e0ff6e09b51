package interop

// The peers (node/peer.js, python/peer.py, godot3/peer.gd,
// chromium/index.html) echo every message back in the type it arrived in,
// except text messages starting with "cmd:", which are commands:
//
//	cmd:close:<code>:<reason>           close the connection with that code and reason
//	cmd:frag:<n>:<size>:<text|binary>   send one message in n frames of size bytes,
//	                                    frame i filled with one value (see fragments)
//	cmd:ping                            send a ping "hb"; report "pong:hb" when our pong arrives
//	cmd:ext                             report the negotiated extensions: "ext:<...>"
//	cmd:flood                           send "f0", "f1", ... until killed
//	cmd:burst:<n>                       send "b0" ... "b<n-1>", then print "SENT <n>" once
//	                                    all of it is written to the socket
//	cmd:protocol                        (browser) report the subprotocol: "protocol:<...>"
//
// Each peer prints "CLOSED <code> <reason>" when it learns the other side's
// close frame, which is how the test checks our close from their side.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// caps says what a peer implementation can do (or does differently).
type caps struct {
	large     int  // size of the large messages it echoes
	fragments bool // sends fragmented messages on cmd:frag
	ping      bool // sends pings on cmd:ping
	noEmpty   bool // does not deliver empty messages
	nulReason bool // Godot 3.2.3 sends its close reason with a trailing NUL byte
	// checkExt: ask the peer (cmd:ext) whether permessage-deflate was
	// negotiated and require it to be exactly deflate.
	checkExt, deflate bool
}

// impl is an independent implementation, runnable as a server and as a client.
type impl struct {
	name string
	tool string // its key in versions
	caps caps
	// server starts it as a server on loopback and returns its port.
	server func(t *testing.T, env []string) (*proc, int)
	// client starts it as a client of url.
	client func(t *testing.T, env []string, url string) *proc
}

func nodePath(t *testing.T) string {
	t.Helper()
	node := need(t, "node", "--version")
	if _, err := os.Stat(filepath.Join("node", "node_modules", "ws", "package.json")); err != nil {
		unavailable(t, "interop/node/node_modules/ws is missing (npm ci in interop/node)")
	}
	logVersion(t, "node ws", func() string {
		var pkg struct{ Version string }
		b, _ := os.ReadFile(filepath.Join("node", "node_modules", "ws", "package.json"))
		_ = json.Unmarshal(b, &pkg)
		return pkg.Version + " (node " + commandOutput(node, "--version") + ")"
	})
	return node
}

// Debian's python3 (not a pyenv or venv one) is the one with python3-websockets.
func pythonPath(t *testing.T) string {
	t.Helper()
	py := need(t, "/usr/bin/python3", "-c", "import websockets")
	logVersion(t, "python websockets", func() string {
		return commandOutput(py, "-c", "import sys, websockets; print(websockets.__version__, '(python', sys.version.split()[0] + ')')")
	})
	return py
}

func godotPath(t *testing.T) string {
	t.Helper()
	godot := need(t, "godot3-server") // (its --version exits with status 255)
	logVersion(t, "godot3-server", func() string { return commandOutput(godot, "--version") })
	return godot
}

// port parses the "PORT <n>" line a server peer prints once listening.
func port(t *testing.T, p *proc) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(p.expect("PORT "), &n); err != nil || n <= 0 {
		t.Fatalf("bad PORT line: %v", err)
	}
	return n
}

var (
	nodeImpl = impl{
		name: "node-ws",
		tool: "node ws",
		caps: caps{large: 1 << 20, fragments: true, ping: true},
		server: func(t *testing.T, env []string) (*proc, int) {
			p := start(t, "", env, nodePath(t), "node/peer.js", "server", "0")
			return p, port(t, p)
		},
		client: func(t *testing.T, env []string, url string) *proc {
			return start(t, "", env, nodePath(t), "node/peer.js", "client", url)
		},
	}
	pythonImpl = impl{
		name: "python-websockets",
		tool: "python websockets",
		caps: caps{large: 1 << 20, fragments: true, ping: true},
		server: func(t *testing.T, env []string) (*proc, int) {
			p := start(t, "", env, pythonPath(t), "python/peer.py", "server", "0")
			return p, port(t, p)
		},
		client: func(t *testing.T, env []string, url string) *proc {
			return start(t, "", env, pythonPath(t), "python/peer.py", "client", url)
		},
	}
	godotImpl = impl{
		name: "godot3",
		tool: "godot3-server",
		// Godot 3's WebSocket cannot fragment or ping on request, drops
		// empty messages, and puts a NUL after its close reason.
		caps: caps{large: 1 << 20, noEmpty: true, nulReason: true},
		server: func(t *testing.T, env []string) (*proc, int) {
			// Godot 3.2's WebSocketServer cannot report the port it got
			// for 0: use one that was free a moment ago.
			n := freePort(t)
			p := startGodot(t, env, "server", fmt.Sprint(n))
			p.expect("PORT ")
			return p, n
		},
		client: func(t *testing.T, env []string, url string) *proc {
			return startGodot(t, env, "client", url)
		},
	}
)

// startGodot runs godot3/peer.gd headless. Godot 3 treats the working
// directory as its project and writes user:// and its settings under HOME:
// both are scratch directories.
func startGodot(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	godot := godotPath(t)
	script, err := filepath.Abs("godot3/peer.gd")
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, "HOME="+t.TempDir(), "XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "LANG=en_US.UTF-8", "LC_ALL=")
	return start(t, t.TempDir(), env, godot, append([]string{"--no-window", "-s", script, "--"}, args...)...)
}

func implementations() []impl { return []impl{nodeImpl, pythonImpl, godotImpl} }

// fragments is what the peer sends for cmd:frag:<n>:<size>:<kind>.
func fragments(n, size int, binary bool) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		v := byte(i)
		if !binary {
			v = 'a' + byte(i%26)
		}
		b.Write(bytes.Repeat([]byte{v}, size))
	}
	return b.Bytes()
}

// exercise runs the echo matrix on an open connection.
func exercise(s *session, c caps) {
	t := s.t
	t.Helper()
	s.sendText("héllo wörld ✓")
	s.expect("text echo", true, []byte("héllo wörld ✓"))
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	s.send(bin, false)
	s.expect("binary echo (every byte value)", false, bin)
	if !c.noEmpty {
		s.send(nil, false)
		s.expect("empty binary echo", false, nil)
		s.send(nil, true)
		s.expect("empty text echo", true, nil)
	}
	// Large messages: our client sends them in many frames (gorilla
	// flushes a frame per write buffer), our server in one.
	large := bytes.Repeat([]byte("0123456789abcdef"), c.large/16)
	s.send(large, false)
	s.expect(fmt.Sprintf("%d-byte binary echo", len(large)), false, large)
	large[0] = 'X'
	s.send(large, true)
	s.expect(fmt.Sprintf("%d-byte text echo", len(large)), true, large)
	// A burst, alternating types, comes back complete and in order.
	for i := 0; i < 500; i++ {
		s.send([]byte(fmt.Sprintf("m%d", i)), i%2 == 0)
	}
	for i := 0; i < 500; i++ {
		s.expect("ordered echo of a burst", i%2 == 0, []byte(fmt.Sprintf("m%d", i)))
	}
	if c.fragments {
		s.sendText("cmd:frag:4:3:text")
		s.expect("a text message the peer sent in 4 frames", true, fragments(4, 3, false))
		s.sendText("cmd:frag:16:65536:binary")
		s.expect("a 1 MiB binary message the peer sent in 16 frames", false, fragments(16, 65536, true))
	}
	if c.ping {
		s.sendText("cmd:ping")
		s.expect("the peer's ping answered by our pong", true, []byte("pong:hb"))
	}
	if c.checkExt {
		s.sendText("cmd:ext")
		m := s.read("the peer's extensions")
		if got := strings.Contains(string(m.Data), "permessage-deflate"); got != c.deflate {
			t.Fatalf("permessage-deflate negotiated=%v, want %v: peer reports %q", got, c.deflate, m.Data)
		}
	}
	// Our heartbeat pings are answered by the peer's pongs.
	s.until("an RTT measured from heartbeat pongs", func() bool { return s.conn.RTT() > 0 })
}

// peerCloses asks the peer to close with 4001 and a reason and checks what
// our side reports: the close request, then a clean end with that code.
func peerCloses(s *session, c caps) {
	t := s.t
	t.Helper()
	want := "peer says bye"
	if c.nulReason {
		want += "\x00" // reported as it arrived on the wire
	}
	s.sendText("cmd:close:4001:peer says bye")
	ev := s.disconnected()
	req, ok := s.event(peer.EventCloseRequest)
	if !ok || req.Code != 4001 || req.Reason != want {
		t.Fatalf("close request from the peer: found %v, code %d, reason %q; want 4001 %q", ok, req.Code, req.Reason, want)
	}
	if !ev.Clean || ev.Code != 4001 || ev.Reason != want || s.conn.CloseCode() != 4001 || s.conn.CloseReason() != want {
		t.Fatalf("after the peer's close: clean %v, code %d, reason %q, CloseCode %d %q (want clean, 4001 %q)",
			ev.Clean, ev.Code, ev.Reason, s.conn.CloseCode(), s.conn.CloseReason(), want)
	}
	if s.conn.State() != peer.StateClosed {
		t.Fatalf("state %v after the disconnect", s.conn.State())
	}
}

// weClose closes from our side with 4002 and a reason, and checks the
// handshake was clean and the peer saw both.
func weClose(s *session, p *proc) {
	t := s.t
	t.Helper()
	if err := s.conn.Close(4002, "we say bye"); err != nil {
		t.Fatal(err)
	}
	if ev := s.disconnected(); !ev.Clean || ev.Code != 4002 {
		// The peer answers with our code (RFC 6455 5.5.1).
		t.Fatalf("our close was not clean: %+v", ev)
	}
	// (A server peer printed earlier connections' ends too: find this one's.)
	if got := p.expect("CLOSED 4002"); got != "we say bye" {
		t.Fatalf("the peer saw our close 4002 with reason %q, want \"we say bye\"", got)
	}
}
