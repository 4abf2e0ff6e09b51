package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PROXY protocol v1 and v2, as HAProxy specifies it
// (https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt).
//
// With Options.ProxyProtocol every connection must start with a PROXY header
// and come from a trusted proxy: a connection from any other address is
// closed at once, one without a valid header within HandshakeTimeout too,
// each with an EventError saying why. The header is read exactly (nothing
// after it), so the connection goes on to TLS and HTTP as it came, socket
// fast path included; the address it names reaches serveHTTP through the
// request's context.

var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

const (
	proxyV1Max    = 107  // longest v1 line, CRLF included
	proxyV2MaxLen = 4096 // longest v2 address block we accept (TLVs included)
)

// readProxyHeader reads one PROXY header from r and nothing more. proxied
// is false for a header that names no client (v1 UNKNOWN, v2 LOCAL or a
// family without addresses: the proxy's own connection, e.g. a health
// check); the TCP peer's address then stands.
func readProxyHeader(r io.Reader) (src hop, proxied bool, err error) {
	var b [16]byte
	// 15 bytes: the shortest v1 header ("PROXY UNKNOWN\r\n"); a v2 header is longer.
	if n, err := io.ReadFull(r, b[:15]); err != nil {
		if n == 0 {
			return hop{}, false, fmt.Errorf("no PROXY header: %w", err)
		}
		return hop{}, false, fmt.Errorf("truncated PROXY header %q: %w", b[:n], err)
	}
	switch {
	case bytes.Equal(b[:12], proxyV2Sig):
		if _, err := io.ReadFull(r, b[15:16]); err != nil {
			return hop{}, false, fmt.Errorf("truncated PROXY v2 header: %w", err)
		}
		return readProxyV2(r, b)
	case bytes.HasPrefix(b[:], []byte("PROXY ")):
		line := append(make([]byte, 0, proxyV1Max), b[:15]...)
		if i := bytes.IndexByte(line, '\n'); i >= 0 && i != 14 {
			return hop{}, false, fmt.Errorf("malformed PROXY v1 header %q", line)
		}
		var one [1]byte
		for line[len(line)-1] != '\n' {
			if len(line) >= proxyV1Max {
				return hop{}, false, fmt.Errorf("malformed PROXY v1 header: no CRLF within %d bytes", proxyV1Max)
			}
			if _, err := io.ReadFull(r, one[:]); err != nil {
				return hop{}, false, fmt.Errorf("truncated PROXY v1 header %q: %w", line, err)
			}
			line = append(line, one[0])
		}
		return parseProxyV1(line)
	default:
		return hop{}, false, fmt.Errorf("missing PROXY header (the connection starts with %q)", b[:15])
	}
}

// parseProxyV1 parses a whole v1 line, CRLF included.
func parseProxyV1(line []byte) (hop, bool, error) {
	bad := func(why string) (hop, bool, error) {
		return hop{}, false, fmt.Errorf("malformed PROXY v1 header %q: %s", line, why)
	}
	s, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok || strings.ContainsAny(s, "\r\n") {
		return bad("not one CRLF-terminated line")
	}
	f := strings.Split(s, " ")
	if len(f) >= 2 && f[0] == "PROXY" && f[1] == "UNKNOWN" {
		return hop{}, false, nil
	}
	if len(f) != 6 || f[0] != "PROXY" || (f[1] != "TCP4" && f[1] != "TCP6") {
		return bad("want PROXY TCP4|TCP6 src dst sport dport")
	}
	src, err1 := netip.ParseAddr(f[2])
	dst, err2 := netip.ParseAddr(f[3])
	if err1 != nil || err2 != nil || src.Zone() != "" || dst.Zone() != "" {
		return bad("bad address")
	}
	if v4 := f[1] == "TCP4"; src.Is4() != v4 || dst.Is4() != v4 {
		return bad("address family does not match " + f[1])
	}
	sport, ok1 := proxyPort(f[4])
	_, ok2 := proxyPort(f[5])
	if !ok1 || !ok2 {
		return bad("bad port")
	}
	return hop{addr: src.Unmap(), port: sport}, true, nil
}

// proxyPort parses a v1 port: decimal, 0..65535, no sign or leading zero.
func proxyPort(s string) (int, bool) {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	p, err := strconv.Atoi(s)
	return p, err == nil && p <= 65535
}

// readProxyV2 reads the address block after v2's 16-byte fixed part b.
func readProxyV2(r io.Reader, b [16]byte) (hop, bool, error) {
	ver, cmd := b[12]>>4, b[12]&0x0f
	fam, proto := b[13]>>4, b[13]&0x0f
	n := int(binary.BigEndian.Uint16(b[14:16]))
	switch {
	case ver != 2:
		return hop{}, false, fmt.Errorf("malformed PROXY v2 header: version %d", ver)
	case cmd > 1:
		return hop{}, false, fmt.Errorf("malformed PROXY v2 header: command %d", cmd)
	case fam > 3 || proto > 2:
		return hop{}, false, fmt.Errorf("malformed PROXY v2 header: family/protocol byte 0x%02x", b[13])
	case n > proxyV2MaxLen:
		return hop{}, false, fmt.Errorf("PROXY v2 header too long (%d bytes of addresses)", n)
	}
	block := make([]byte, n)
	if _, err := io.ReadFull(r, block); err != nil {
		return hop{}, false, fmt.Errorf("truncated PROXY v2 header: %w", err)
	}
	need := [4]int{0, 12, 36, 216}[fam]
	if n < need {
		return hop{}, false, fmt.Errorf("malformed PROXY v2 header: %d bytes of addresses, family needs %d", n, need)
	}
	if cmd == 0 || fam == 0 || fam == 3 { // LOCAL, UNSPEC or unix: no client address
		return hop{}, false, nil
	}
	var src netip.Addr
	var port int
	if fam == 1 {
		src = netip.AddrFrom4([4]byte(block[0:4]))
		port = int(binary.BigEndian.Uint16(block[8:10]))
	} else {
		src = netip.AddrFrom16([16]byte(block[0:16])).Unmap()
		port = int(binary.BigEndian.Uint16(block[32:34]))
	}
	return hop{addr: src, port: port}, true, nil
}

// proxiedKey is the request context key of the address a PROXY header named.
type proxiedKey struct{}

// proxyListener reads the PROXY header of each accepted connection in a
// goroutine of its own (a slow or silent proxy never holds up the others)
// and hands the connection on through Accept.
type proxyListener struct {
	net.Listener
	trusted trustSet
	timeout time.Duration
	report  func(error)

	ready chan net.Conn
	done  chan struct{}
	once  sync.Once
	addrs sync.Map // RemoteAddr().String() -> hop, until the http.Server's ConnContext takes it

	mu      sync.Mutex
	pending map[net.Conn]struct{} // header not read yet (closed by Close)
	wg      sync.WaitGroup        // the header goroutines
}

func newProxyListener(ln net.Listener, trusted trustSet, timeout time.Duration, report func(error)) *proxyListener {
	return &proxyListener{Listener: ln, trusted: trusted, timeout: timeout, report: report,
		ready: make(chan net.Conn), done: make(chan struct{}), pending: make(map[net.Conn]struct{})}
}

// run accepts until the listener is closed, then waits for the header
// goroutines (so whoever waits for run waits for them all).
func (l *proxyListener) run() {
	defer l.wg.Wait()
	delay := time.Duration(0)
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				l.Close()
				return
			}
			// Out of file descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
			case <-l.done:
				return
			}
			continue
		}
		delay = 0
		l.wg.Add(1)
		go l.handshake(nc)
	}
}

func (l *proxyListener) handshake(nc net.Conn) {
	defer l.wg.Done()
	from := remoteHop(nc.RemoteAddr().String())
	if !l.trusted.contains(from.addr) {
		_ = nc.Close()
		l.report(fmt.Errorf("PROXY protocol: refused a connection from %s: not a trusted proxy (proxy_protocol accepts only trusted_proxies)", nc.RemoteAddr()))
		return
	}
	l.mu.Lock()
	select {
	case <-l.done:
		l.mu.Unlock()
		_ = nc.Close()
		return
	default:
	}
	l.pending[nc] = struct{}{}
	l.mu.Unlock()
	_ = nc.SetReadDeadline(time.Now().Add(l.timeout))
	src, proxied, err := readProxyHeader(nc)
	_ = nc.SetReadDeadline(time.Time{})
	l.mu.Lock()
	delete(l.pending, nc)
	l.mu.Unlock()
	if err != nil {
		_ = nc.Close()
		select {
		case <-l.done:
		default:
			l.report(fmt.Errorf("PROXY protocol: refused a connection from %s: %v", nc.RemoteAddr(), err))
		}
		return
	}
	key := nc.RemoteAddr().String()
	if proxied {
		l.addrs.Store(key, src)
	}
	select {
	case l.ready <- nc:
	case <-l.done:
		l.addrs.Delete(key)
		_ = nc.Close()
	}
}

func (l *proxyListener) Accept() (net.Conn, error) {
	select {
	case nc := <-l.ready:
		return nc, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the connections whose header is still
// awaited.
func (l *proxyListener) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		close(l.done)
		for nc := range l.pending {
			_ = nc.Close()
		}
		l.mu.Unlock()
	})
	return l.Listener.Close()
}

// connContext gives a connection's requests the address its PROXY header named
// (http.Server.ConnContext).
func (l *proxyListener) connContext(ctx context.Context, c net.Conn) context.Context {
	if v, ok := l.addrs.LoadAndDelete(c.RemoteAddr().String()); ok {
		return context.WithValue(ctx, proxiedKey{}, v)
	}
	return ctx
}
