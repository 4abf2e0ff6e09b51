package interop

// Our server behind the real programs, both from Debian: nginx 1.22 as a
// reverse proxy (plain, and TLS terminated at nginx) and HAProxy 2.6 (PROXY
// protocol v2, HTTP health checks, two servers with leastconn and a drain).
// Each test writes its config into a temp dir and starts the program on
// loopback ports itself. Distinct loopback addresses tell the parties apart:
// the proxies connect to our server from 127.0.0.2 (the trusted proxy),
// clients come from 127.0.0.3 (through a proxy) or 127.0.0.1 (directly).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowebsocket/godot-gowebsocket/internal/testcert"

	"github.com/gorilla/websocket"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

const (
	proxyAddr  = "127.0.0.2" // where nginx and HAProxy connect to our server from
	clientAddr = "127.0.0.3" // where clients connect to the proxies from
)

// needInfra returns the path of nginx or haproxy; without it the test skips
// with one line naming the install command (fails under GOWS_REQUIRE_INTEROP=1).
func needInfra(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/" + tool); serr == nil {
			p, err = "/usr/sbin/"+tool, nil
		}
	}
	if err != nil {
		if required() {
			t.Fatalf("GOWS_REQUIRE_INTEROP=1: %s is not installed; apt-get install -y nginx haproxy", tool)
		}
		t.Skipf("SKIP: %s is not installed; apt-get install -y nginx haproxy", tool)
	}
	return p
}

// waitListening waits until addr accepts connections (the program is up).
func waitListening(t *testing.T, p *proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		p.mu.Lock()
		eof := p.eof
		p.mu.Unlock()
		if eof || time.Now().After(deadline) {
			t.Fatalf("%s is not listening on %s: %v\nstderr: %s", p.name, addr, err, tail(p.stderr.String(), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echoServer is a peer.Server polled by a goroutine of its own (its caller
// thread): it greets each peer with "hello:NAME:ADDRESS:PORT" (the address
// it believes), echoes every message, and records its error events.
type echoServer struct {
	name string
	srv  *peer.Server
	cmds chan func(*peer.Server)
	done chan struct{}
	quit chan struct{}

	mu       sync.Mutex
	errors   []string
	peers    int // connected now
	total    int // ever connected
	drained  bool
	sendErrs int
	maxPoll  time.Duration // longest Poll call: how starved the machine was
}

func startEcho(t *testing.T, name string, opts peer.Options) *echoServer {
	t.Helper()
	e := &echoServer{name: name, srv: peer.NewServer(opts), cmds: make(chan func(*peer.Server)),
		done: make(chan struct{}), quit: make(chan struct{})}
	if err := e.srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	go e.loop()
	t.Cleanup(func() {
		close(e.quit)
		<-e.done
		if t.Failed() {
			t.Logf("server %s errors: %q", name, e.errorList())
		}
	})
	return e
}

func (e *echoServer) addr() string { return "127.0.0.1:" + strconv.Itoa(e.srv.Port()) }

func (e *echoServer) loop() {
	defer close(e.done)
	var evs []peer.Event
	for {
		select {
		case f := <-e.cmds:
			f(e.srv)
		case <-e.quit:
			e.srv.Stop()
			e.srv.Poll(nil)
			return
		default:
		}
		t0 := time.Now()
		evs = e.srv.Poll(evs[:0])
		d := time.Since(t0)
		e.mu.Lock()
		e.maxPoll = max(e.maxPoll, d)
		e.mu.Unlock()
		for _, ev := range evs {
			e.mu.Lock()
			switch ev.Kind {
			case peer.EventConnected:
				e.peers++
				e.total++
				hello := fmt.Sprintf("hello:%s:%s:%d", e.name, ev.Conn.RemoteHost(), ev.Conn.RemotePort())
				if ev.Conn.Send([]byte(hello), peer.WriteText) != nil {
					e.sendErrs++
				}
			case peer.EventMessage:
				for {
					m, ok := ev.Conn.Read()
					if !ok {
						break
					}
					if ev.Conn.Send(m.Data, peer.WriteText) != nil {
						e.sendErrs++
					}
				}
			case peer.EventDisconnected:
				e.peers--
			case peer.EventDrained:
				e.drained = true
			case peer.EventError:
				e.errors = append(e.errors, ev.Err.Error())
			}
			e.mu.Unlock()
		}
		clear(evs)
		time.Sleep(2 * time.Millisecond)
	}
}

// do runs f on the server's caller thread.
func (e *echoServer) do(f func(*peer.Server)) {
	ran := make(chan struct{})
	e.cmds <- func(s *peer.Server) { f(s); close(ran) }
	<-ran
}

func (e *echoServer) longestPoll() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.maxPoll
}

func (e *echoServer) errorList() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.errors...)
}

// waitError waits for an error event containing want.
func (e *echoServer) waitError(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, msg := range e.errorList() {
			if strings.Contains(msg, want) {
				t.Logf("server %s reported: %s", e.name, msg)
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("server %s reported no error containing %q (got %q)", e.name, want, e.errorList())
}

// dialWS upgrades from local address from (with pre written first, e.g. a
// PROXY header) and returns the connection and the greeting, or the error.
func dialWS(rawURL, from string, pre []byte, hdr http.Header, cfg *tls.Config) (*websocket.Conn, string, error) {
	d := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		TLSClientConfig:  cfg,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			nc, err := nd.DialContext(ctx, network, addr)
			if err == nil && len(pre) > 0 {
				_, err = nc.Write(pre)
			}
			return nc, err
		},
	}
	ws, resp, err := d.Dial(rawURL, hdr)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, "", err
	}
	_ = ws.SetReadDeadline(time.Now().Add(timeout))
	_, hello, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, "", err
	}
	return ws, string(hello), nil
}

// greetedAs checks the greeting names the address (and port, when not -1)
// the server believes, and that an echo comes back.
func greetedAs(t *testing.T, what string, ws *websocket.Conn, hello, server, host string, port int) {
	t.Helper()
	f := strings.Split(hello, ":")
	if len(f) < 4 || f[0] != "hello" || f[1] != server {
		t.Fatalf("%s: greeting %q", what, hello)
	}
	gotHost, gotPort := strings.Join(f[2:len(f)-1], ":"), f[len(f)-1]
	if gotHost != host || (port >= 0 && gotPort != strconv.Itoa(port)) {
		t.Fatalf("%s: the server believes the client is %s port %s, want %s port %d", what, gotHost, gotPort, host, port)
	}
	msg := "echo " + what
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if _, got, err := ws.ReadMessage(); err != nil || string(got) != msg {
		t.Fatalf("%s: echo %q %v", what, got, err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	c := testcert.New(t, testcert.Spec{CommonName: "127.0.0.1", IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(c.CertPEM))
	writeFile(t, keyFile, string(c.KeyPEM))
	return certFile, keyFile, c.Pool
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// nginxConf is the configuration TestNginxReverseProxy runs (the README
// shows its location block).
const nginxConf = `master_process off;
error_log stderr notice;
pid %[1]s/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    upstream game {
        server %[2]s;
    }
    server {
        listen 127.0.0.1:%[3]d;
        listen 127.0.0.1:%[4]d ssl;
        ssl_certificate     %[5]s;
        ssl_certificate_key %[6]s;

        location / {
            proxy_pass http://game;
            proxy_bind %[7]s;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_read_timeout 1h;
        }
    }
}
`

func TestNginxReverseProxy(t *testing.T) {
	nginx := needInfra(t, "nginx")
	logVersion(t, "nginx", func() string {
		out, _ := exec.Command(nginx, "-v").CombinedOutput()
		return strings.TrimSpace(string(out))
	})
	backend := startEcho(t, "S", peer.Options{TrustedProxies: []string{proxyAddr}})
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	plain, secure := freePort(t), freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	writeFile(t, conf, fmt.Sprintf(nginxConf, dir, backend.addr(), plain, secure, certFile, keyFile, proxyAddr))
	p := start(t, dir, nil, nginx, "-p", dir+"/", "-c", conf, "-e", "stderr", "-g", "daemon off;")
	waitListening(t, p, "127.0.0.1:"+strconv.Itoa(plain))
	waitListening(t, p, "127.0.0.1:"+strconv.Itoa(secure))

	spoof := http.Header{"X-Forwarded-For": {"6.6.6.6"}, "X-Real-Ip": {"6.6.6.6"}}
	for _, tc := range []struct {
		name string
		url  string
		cfg  *tls.Config
	}{
		{"nginx plain", fmt.Sprintf("ws://127.0.0.1:%d/play", plain), nil},
		{"nginx TLS", fmt.Sprintf("wss://127.0.0.1:%d/play", secure), &tls.Config{RootCAs: pool}},
	} {
		// The client's own X-Forwarded-For is left of what nginx appends: not believed.
		ws, hello, err := dialWS(tc.url, clientAddr, nil, spoof, tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		greetedAs(t, tc.name, ws, hello, "S", clientAddr, 0)
		ws.Close()
	}
	// Straight to the server: forwarding headers count only from the trusted proxy.
	ws, hello, err := dialWS("ws://"+backend.addr()+"/", "127.0.0.1", nil, spoof, nil)
	if err != nil {
		t.Fatal(err)
	}
	greetedAs(t, "spoofed headers from an untrusted client", ws, hello, "S", "127.0.0.1", ws.LocalAddr().(*net.TCPAddr).Port)
	ws.Close()
	ws, hello, err = dialWS("ws://"+backend.addr()+"/", proxyAddr, nil, http.Header{"X-Forwarded-For": {"203.0.113.9"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	greetedAs(t, "headers from the trusted address", ws, hello, "S", "203.0.113.9", 0)
	ws.Close()
}

// proxyV2Header is a PROXY v2 header for a TCP4 connection from src.
func proxyV2Header(src *net.TCPAddr) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	b = append(b, src.IP.To4()...)
	b = append(b, 10, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(src.Port))
	return binary.BigEndian.AppendUint16(b, 80)
}

func startHAProxy(t *testing.T, cfg string, listen string) *proc {
	t.Helper()
	haproxy := needInfra(t, "haproxy")
	logVersion(t, "haproxy", func() string { return commandOutput(haproxy, "-v") })
	dir := t.TempDir()
	path := filepath.Join(dir, "haproxy.cfg")
	writeFile(t, path, strings.ReplaceAll(cfg, "{dir}", dir))
	p := start(t, dir, nil, haproxy, "-f", path, "-db")
	waitListening(t, p, listen)
	return p
}

// haproxyCfgProxyV2 is a TCP pass-through that tells our server the client's
// address with a PROXY v2 header.
const haproxyCfgProxyV2 = `global
    maxconn 1000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:%d
    default_backend game
backend game
    server s1 %s send-proxy-v2 source %s
`

func TestHAProxySendProxyV2(t *testing.T) {
	needInfra(t, "haproxy")
	backend := startEcho(t, "S", peer.Options{ProxyProtocol: true, TrustedProxies: []string{proxyAddr},
		HandshakeTimeout: 2 * time.Second})
	front := freePort(t)
	startHAProxy(t, fmt.Sprintf(haproxyCfgProxyV2, front, backend.addr(), proxyAddr), fmt.Sprintf("127.0.0.1:%d", front))

	// Through HAProxy: the address and port of the client, whatever headers it sends.
	ws, hello, err := dialWS(fmt.Sprintf("ws://127.0.0.1:%d/", front), clientAddr, nil,
		http.Header{"X-Forwarded-For": {"6.6.6.6"}}, nil)
	if err != nil {
		t.Fatalf("through HAProxy: %v (server errors %q)", err, backend.errorList())
	}
	greetedAs(t, "PROXY v2 from HAProxy", ws, hello, "S", clientAddr, ws.LocalAddr().(*net.TCPAddr).Port)
	ws.Close()

	// A PROXY header from an address that is not a trusted proxy: refused.
	fake := proxyV2Header(&net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 5000})
	if _, _, err := dialWS("ws://"+backend.addr()+"/", "127.0.0.1", fake, nil, nil); err == nil {
		t.Fatal("a PROXY header from an untrusted address was accepted")
	}
	backend.waitError(t, "not a trusted proxy")

	// A malformed PROXY header, even from the trusted address: refused.
	if _, _, err := dialWS("ws://"+backend.addr()+"/", proxyAddr, []byte("PROXY TCP4 203.0.113.7 oops\r\n"), nil, nil); err == nil {
		t.Fatal("a malformed PROXY header was accepted")
	}
	backend.waitError(t, "malformed PROXY v1 header")

	// No PROXY header at all: refused.
	if _, _, err := dialWS("ws://"+backend.addr()+"/", proxyAddr, nil, nil, nil); err == nil {
		t.Fatal("a connection without PROXY header was accepted")
	}
	backend.waitError(t, "missing PROXY header")
}

// haproxyCfgBalance balances WebSocket clients over two servers, checking
// each one's health path.
const haproxyCfgBalance = `global
    maxconn 4000
    stats socket {dir}/admin.sock level admin
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
frontend fe
    bind 127.0.0.1:%d
    default_backend game
backend game
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    timeout check 2s
    default-server check inter 250ms fall 2 rise 2
    server a %s
    server b %s
`

// haproxyStatus returns the status column of HAProxy's "show stat" per server.
func haproxyStatus(t *testing.T, sock string) map[string]string {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		t.Fatalf("HAProxy stats socket: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("show stat\n")); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(out), "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("show stat: %v %q", err, out)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	st := map[string]string{}
	for _, row := range rows[1:] {
		if len(row) > col["status"] && row[col["pxname"]] == "game" {
			st[row[col["svname"]]] = row[col["status"]]
		}
	}
	return st
}

// lbClient is one of the load-balanced clients.
type lbClient struct {
	cl       *peer.Client
	server   string // who greeted the current connection ("" between connections)
	servers  []string
	next     int // next echo expected on the current connection
	downAt   time.Time
	backoff  time.Duration // sum of reconnect delays since downAt
	lateness time.Duration // worst (time disconnected - back-off)
	attempts int           // reconnect attempts since downAt
	allowed  time.Duration // worst allowance for lateness: a handshake timeout per attempt
	refused  []string      // connect errors that are HTTP refusals (routed to a server that was not serving)
	lost     []string
	trace    []string // what happened since the last disconnect (shown when it was late)
	worst    []string
}

const lbMessages = 10 // messages each client sends on each connection, all to be echoed

func (c *lbClient) handle(ev peer.Event) {
	if !c.downAt.IsZero() {
		c.trace = append(c.trace, fmt.Sprintf("%v kind %d err %v delay %v", time.Since(c.downAt).Round(time.Millisecond), ev.Kind, ev.Err, ev.Delay))
	}
	switch ev.Kind {
	case peer.EventMessage:
		for {
			m, ok := ev.Conn.Read()
			if !ok {
				break
			}
			s := string(m.Data)
			if hello, ok := strings.CutPrefix(s, "hello:"); ok {
				c.server = strings.SplitN(hello, ":", 2)[0]
				c.servers = append(c.servers, c.server)
				if !c.downAt.IsZero() {
					if late := time.Since(c.downAt) - c.backoff; late > c.lateness {
						c.lateness, c.worst = late, c.trace
						c.allowed = time.Duration(c.attempts) * peer.DefaultHandshakeTimeout
					}
					c.trace = nil
					c.downAt, c.backoff = time.Time{}, 0
				}
				c.next = 0
				for i := 0; i < lbMessages; i++ {
					if err := ev.Conn.Send([]byte(fmt.Sprintf("m%d", i)), peer.WriteText); err != nil {
						c.lost = append(c.lost, fmt.Sprintf("send m%d to %s: %v", i, c.server, err))
					}
				}
				continue
			}
			if s != fmt.Sprintf("m%d", c.next) {
				c.lost = append(c.lost, fmt.Sprintf("from %s: got %q, want m%d", c.server, s, c.next))
			}
			c.next++
		}
	case peer.EventDisconnected:
		if c.server != "" && c.next < lbMessages {
			c.lost = append(c.lost, fmt.Sprintf("%s closed the connection with %d of %d echoes", c.server, c.next, lbMessages))
		}
		c.server = ""
		c.downAt, c.backoff, c.trace, c.attempts = time.Now(), 0, nil, 0
	case peer.EventReconnecting:
		c.backoff += ev.Delay
		c.attempts++
	case peer.EventConnectError:
		if strings.Contains(fmt.Sprint(ev.Err), "HTTP ") {
			c.refused = append(c.refused, ev.Err.Error())
		}
	}
}

func TestHAProxyHealthCheckAndDrainBetweenTwoServers(t *testing.T) {
	needInfra(t, "haproxy")
	opts := peer.Options{HealthPath: "/healthz"}
	a, b := startEcho(t, "a", opts), startEcho(t, "b", opts)
	front := freePort(t)
	p := startHAProxy(t, fmt.Sprintf(haproxyCfgBalance, front, a.addr(), b.addr()), fmt.Sprintf("127.0.0.1:%d", front))
	sock := filepath.Join(p.cmd.Dir, "admin.sock")
	waitStatus := func(what string, want map[string]string) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			st := haproxyStatus(t, sock)
			ok := true
			for k, v := range want {
				ok = ok && strings.HasPrefix(st[k], v)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: HAProxy says %v, want %v", what, st, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitStatus("both servers healthy", map[string]string{"a": "UP", "b": "UP"})

	const n = 200
	copts := peer.Options{AutoReconnect: true, ReconnectMinDelay: 100 * time.Millisecond, ReconnectMaxDelay: time.Second}
	clients := make([]*lbClient, n)
	for i := range clients {
		clients[i] = &lbClient{cl: peer.NewClient(copts)}
		defer clients[i].cl.Shutdown()
		if err := clients[i].cl.Connect(fmt.Sprintf("ws://127.0.0.1:%d/", front)); err != nil {
			t.Fatal(err)
		}
	}
	var evs []peer.Event
	pollAll := func() {
		for _, c := range clients {
			evs = c.cl.Poll(evs[:0])
			for _, ev := range evs {
				c.handle(ev)
			}
		}
		clear(evs)
	}
	until := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s", limit, what)
			}
			pollAll()
			time.Sleep(10 * time.Millisecond) // a game polls once a frame
		}
	}
	settled := func(on ...string) func() bool {
		return func() bool {
			for _, c := range clients {
				if c.next < lbMessages || (c.server != on[0] && (len(on) == 1 || c.server != on[1])) {
					return false
				}
			}
			return true
		}
	}
	until("200 clients connected and echoed", 60*time.Second, settled("a", "b"))
	onA := 0
	for _, c := range clients {
		if c.server == "a" {
			onA++
		}
	}
	t.Logf("leastconn spread the %d clients: %d on a, %d on b", n, onA, n-onA)
	if onA < n/4 || onA > n-n/4 {
		t.Fatalf("leastconn put %d of %d clients on a", onA, n)
	}

	// Drain a: its health check fails, HAProxy takes it out, and at the
	// timeout its peers are closed with 1001 and reconnect, to b.
	start := time.Now()
	a.do(func(s *peer.Server) {
		if err := s.Drain(2 * time.Second); err != nil {
			t.Errorf("drain: %v", err)
		}
	})
	waitStatus("a marked down by its health check", map[string]string{"a": "DOWN", "b": "UP"})
	t.Logf("HAProxy marked a DOWN %v after the drain", time.Since(start).Round(time.Millisecond))
	until("every client on b with its messages echoed", 60*time.Second, settled("b"))
	t.Logf("all %d clients on b %v after the drain", n, time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(timeout)
	for {
		a.mu.Lock()
		drained, left := a.drained, a.peers
		a.mu.Unlock()
		if drained && left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a: drained %v with %d peers", drained, left)
		}
		pollAll()
		time.Sleep(5 * time.Millisecond)
	}

	var worst time.Duration
	var worstTrace string
	moved := 0
	for i, c := range clients {
		if len(c.lost) > 0 {
			t.Errorf("client %d (servers %v): %q", i, c.servers, c.lost)
		}
		if len(c.refused) > 0 {
			t.Errorf("client %d was refused while reconnecting (sent to a server out of service): %q", i, c.refused)
		}
		if c.lateness > c.allowed+3*time.Second {
			t.Errorf("client %d stayed disconnected %v longer than its back-off (%d attempts): %q", i,
				c.lateness.Round(time.Millisecond), c.attempts, c.worst)
		}
		if len(c.servers) > 1 {
			moved++
		}
		if c.lateness > worst {
			worst = c.lateness
			worstTrace = fmt.Sprintf("client %d: %q", i, c.worst)
		}
	}
	if moved < onA {
		t.Fatalf("%d clients reconnected, %d were on a", moved, onA)
	}
	t.Logf("%d clients moved from a to b; worst time disconnected beyond the back-off: %v (%s)", moved, worst.Round(time.Millisecond), worstTrace)
	t.Logf("longest Poll call: a %v, b %v (the machine's load shows here)", a.longestPoll(), b.longestPoll())
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.peers != n || b.sendErrs != 0 {
		t.Fatalf("b: %d peers (want %d), %d send errors", b.peers, n, b.sendErrs)
	}
}
