package peer

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowebsocket/godot-gowebsocket/internal/testcert"
)

// textWorkload is a repetitive JSON-ish text message.
func textWorkload(i int) []byte {
	return []byte(strings.Repeat(`{"type":"position","entity":`+strconv.Itoa(i)+`,"x":12.5,"y":-3.25,"z":100.0},`, 12))
}

func wireRatio(t *testing.T, compress bool) (payload, wire int64) {
	o := Options{Compression: compress}
	r := newRig(t, o, o)
	const n = 200
	for i := 0; i < n; i++ {
		if err := r.cc.Send(textWorkload(i), WriteText); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	r.until("delivered", func() bool {
		for {
			m, ok := r.sc.Read()
			if !ok {
				break
			}
			if string(m.Data) != string(textWorkload(got)) || !m.Text {
				t.Fatalf("message %d corrupted", got)
			}
			got++
		}
		return got == n
	})
	st := r.cc.Stats()
	return st.BytesOut, st.WireBytesOut
}

func TestCompression(t *testing.T) {
	plainPayload, plainWire := wireRatio(t, false)
	compPayload, compWire := wireRatio(t, true)
	t.Logf("text workload: payload %d B; wire %d B plain, %d B compressed (%.1f%%)",
		plainPayload, plainWire, compWire, 100*float64(compWire)/float64(plainWire))
	if plainPayload != compPayload || plainWire < plainPayload {
		t.Fatalf("payload %d/%d wire %d", plainPayload, compPayload, plainWire)
	}
	if compWire*3 > plainWire {
		t.Fatalf("compression did not shrink the wire bytes: %d vs %d", compWire, plainWire)
	}
}

// testCert makes a self-signed certificate for 127.0.0.1 and localhost.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	return testCertValid(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

func testCertValid(t testing.TB, notBefore, notAfter time.Time) (tls.Certificate, *x509.CertPool) {
	c := testcert.New(t, testcert.Spec{CommonName: "test", NotBefore: notBefore, NotAfter: notAfter,
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}})
	return c.TLS, c.Pool
}

// An expired certificate fails the connection even when it is trusted.
func TestTLSExpiredCertificate(t *testing.T) {
	cert, pool := testCertValid(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	srv, sp := newServer(t, Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	cl, cp := newClient(t, Options{TLS: &tls.Config{RootCAs: pool}})
	if err := cl.Connect("wss://127.0.0.1:" + strconv.Itoa(srv.Port()) + "/"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "outcome", func() { cp.step(); sp.step() }, func() bool { return len(cp.events) > 0 })
	if ev := cp.events[0]; ev.Kind != EventConnectError || !strings.Contains(ev.Err.Error(), "expired") {
		t.Fatalf("want an expired-certificate error, got %+v", ev)
	}
}

func TestTLS(t *testing.T) {
	cert, pool := testCert(t)
	srv, sp := newServer(t, Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	url := "wss://127.0.0.1:" + strconv.Itoa(srv.Port()) + "/secure"
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"trusted TLS1.3", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}, true},
		{"trusted TLS1.2", &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12}, true},
		{"untrusted", nil, false},
		{"wrong host", &tls.Config{RootCAs: pool, ServerName: "example.com"}, false},
		{"verification off", &tls.Config{InsecureSkipVerify: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, cp := newClient(t, Options{TLS: tc.cfg})
			if err := cl.Connect(url); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "outcome", func() { cp.step(); sp.step() }, func() bool { return len(cp.events) > 0 })
			ev := cp.events[0]
			if !tc.ok {
				if ev.Kind != EventConnectError || !strings.Contains(ev.Err.Error(), "certificate") {
					t.Fatalf("want a certificate error, got %+v", ev)
				}
				return
			}
			if ev.Kind != EventConnected {
				t.Fatalf("got %+v", ev)
			}
			if err := cl.Conn().Send([]byte("over tls"), WriteText); err != nil {
				t.Fatal(err)
			}
			var sc *Conn
			waitUntil(t, "message", func() { cp.step(); sp.step() }, func() bool {
				for _, ev := range sp.events {
					if ev.Kind == EventMessage {
						sc = ev.Conn
						return true
					}
				}
				return false
			})
			m, _ := sc.Read()
			if string(m.Data) != "over tls" || sc.Request().Path != "/secure" {
				t.Fatalf("got %q", m.Data)
			}
			if st := cl.Conn().Stats(); st.WireBytesOut < st.BytesOut+20 {
				t.Fatalf("wire bytes do not include TLS: %+v", st)
			}
			cl.Shutdown()
			sp.events = nil
		})
	}
}

// connectProxy is a minimal HTTP CONNECT proxy requiring basic auth user:pass.
type connectProxy struct {
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	authOK int
}

func startProxy(t *testing.T, tlsCfg *tls.Config) *connectProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	p := &connectProxy{ln: ln}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *connectProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *connectProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *connectProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		p.wg.Add(1)
		go p.handle(c)
	}
}

func (p *connectProxy) handle(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect {
		return
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pass"))
	if req.Header.Get("Proxy-Authorization") != want {
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", req.Host)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.track(up)
	defer up.Close()
	p.mu.Lock()
	p.authOK++
	p.mu.Unlock()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(up, br)
		up.Close()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

func TestProxy(t *testing.T) {
	cert, pool := testCert(t)
	srv, sp := newServer(t, Options{})
	plain := startProxy(t, nil)
	secure := startProxy(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	for _, tc := range []struct {
		name, proxy string
		ok          bool
		p           *connectProxy
	}{
		{"http", "http://user:pass@" + plain.ln.Addr().String(), true, plain},
		{"https", "https://user:pass@" + secure.ln.Addr().String(), true, secure},
		{"bad auth", "http://user:wrong@" + plain.ln.Addr().String(), false, plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, cp := newClient(t, Options{ProxyURL: tc.proxy, TLS: &tls.Config{RootCAs: pool}})
			if err := cl.Connect(wsURL(srv, "/via-proxy")); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "outcome", func() { cp.step(); sp.step() }, func() bool { return len(cp.events) > 0 })
			ev := cp.events[0]
			if !tc.ok {
				if ev.Kind != EventConnectError || !strings.Contains(ev.Err.Error(), "407") {
					t.Fatalf("want 407, got %+v", ev)
				}
				return
			}
			if ev.Kind != EventConnected {
				t.Fatalf("got %+v", ev)
			}
			tc.p.mu.Lock()
			n := tc.p.authOK
			tc.p.mu.Unlock()
			if n == 0 {
				t.Fatal("connection did not go through the proxy")
			}
			if err := cl.Conn().Send([]byte("tunnelled"), WriteBinary); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "echo", func() { cp.step(); sp.step() }, func() bool {
				_, ok := sp.find(EventMessage, nil)
				return ok
			})
			cl.Shutdown()
			sp.events = nil
		})
	}
	cl := NewClient(Options{ProxyURL: "socks5://x"})
	if err := cl.Connect(wsURL(srv, "/")); err == nil {
		t.Fatal("socks5 proxy accepted")
	}
}
