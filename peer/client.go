package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Client dials one WebSocket connection at a time, and with
// Options.AutoReconnect dials again after the connection ends until
// Disconnect. Its methods are for the caller goroutine (see the package
// documentation, Concurrency).
type Client struct {
	opts    Options
	lim     limits
	hub     hub
	cur     *Conn // caller thread
	sess    *session
	stopped bool
}

// session is one Connect call: a supervisor goroutine that dials, and with
// AutoReconnect dials again after each end until Disconnect/Shutdown.
type session struct {
	url    string
	ctx    context.Context
	cancel context.CancelFunc
	exited atomic.Bool
}

// NewClient returns a client with the given options (copied).
func NewClient(opts Options) *Client {
	if opts.Header != nil {
		opts.Header = opts.Header.Clone()
	}
	opts.Protocols = append([]string(nil), opts.Protocols...)
	lim := resolve(&opts)
	lim.client = true
	cl := &Client{opts: opts, lim: lim}
	cl.hub.fp = newHubPath()
	return cl
}

// ValidateURL checks a ws:// or wss:// URL the way Connect does (errors wrap
// ErrInvalidURL or ErrUnsupportedURL). Any goroutine.
func ValidateURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "":
		return nil, fmt.Errorf("%w: missing scheme in %q", ErrInvalidURL, raw)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedURL, u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: missing host in %q", ErrInvalidURL, raw)
	}
	if u.User != nil { // not in a ws-URI (RFC 6455 §3); gorilla refuses it when dialing
		return nil, fmt.Errorf("%w: user info in %q", ErrInvalidURL, raw)
	}
	if strings.HasSuffix(u.Host, ":") { // gorilla would dial "host:" (url.Port() is "")
		return nil, fmt.Errorf("%w: empty port in %q", ErrInvalidURL, raw)
	}
	if !validHost(u) {
		return nil, fmt.Errorf("%w: bad host %q", ErrInvalidURL, u.Host)
	}
	if _, err := url.Parse(u.String()); err != nil { // e.g. a non-ASCII IPv6 zone: printed, it no longer parses
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: bad port %q", ErrInvalidURL, p)
		}
	}
	return u, nil
}

// validHost reports whether u's host (and port, if any) makes an address the
// dialer can use: an IPv6 literal must be in brackets ("ws://::1" is not),
// and no stray bracket.
func validHost(u *url.URL) bool {
	h := u.Hostname()
	if h == "" {
		return false
	}
	if u.Port() != "" {
		if sh, _, err := net.SplitHostPort(u.Host); err != nil || sh != h {
			return false
		}
	}
	sh, _, err := net.SplitHostPort(net.JoinHostPort(h, "1"))
	return err == nil && sh == h
}

// Connect validates the URL at once (ErrInvalidURL, ErrUnsupportedURL, or
// ErrInvalidArgument for a bad Options.ProxyURL), then dials in a goroutine;
// the outcome arrives through Poll (EventConnected or EventConnectError).
// ErrBusy while a connection is live or being dialed, ErrStopped after
// Shutdown.
func (cl *Client) Connect(rawURL string) error {
	if cl.stopped {
		return ErrStopped
	}
	if (cl.sess != nil && !cl.sess.exited.Load()) || (cl.cur != nil && cl.cur.State() != StateClosed) {
		return ErrBusy
	}
	if _, err := ValidateURL(rawURL); err != nil {
		return err
	}
	if cl.opts.ProxyURL != "" {
		if _, err := parseProxyURL(cl.opts.ProxyURL); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{url: rawURL, ctx: ctx, cancel: cancel}
	cl.sess = s
	c := cl.newConn(s)
	cl.cur = c
	cl.hub.wg.Add(1)
	go cl.run(s, c)
	return nil
}

func (cl *Client) newConn(s *session) *Conn {
	c := newConn(&cl.hub, cl.lim)
	c.id = 1
	c.url = s.url
	return c
}

// run is the session supervisor.
func (cl *Client) run(s *session, c *Conn) {
	defer cl.hub.wg.Done()
	defer s.exited.Store(true)
	defer s.cancel()
	attempt := 0
	for {
		err := cl.dial(s, c)
		if err == nil {
			attempt = 0
			if !cl.opts.AutoReconnect {
				return
			}
			<-c.finished
			c.outMu.Lock()
			local := c.localClose || c.dropped
			c.outMu.Unlock()
			if local || s.ctx.Err() != nil {
				return
			}
		} else {
			cl.hub.push(item{kind: EventConnectError, c: c, ev: &Event{Kind: EventConnectError, Conn: c, ID: 1, Code: -1, Err: err}})
			if !cl.opts.AutoReconnect || s.ctx.Err() != nil || c.phase.Load() == phClosing {
				return
			}
		}
		attempt++
		delay := backoff(attempt, cl.opts.ReconnectMinDelay, cl.opts.ReconnectMaxDelay)
		c = cl.newConn(s)
		cl.hub.push(item{kind: EventReconnecting, c: c, ev: &Event{Kind: EventReconnecting, Conn: c, ID: 1, Attempt: attempt, Delay: delay}})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			cl.hub.push(item{kind: EventConnectError, c: c, ev: &Event{Kind: EventConnectError, Conn: c, ID: 1, Code: -1, Err: s.ctx.Err()}})
			return
		}
	}
}

// backoff: min*2^(attempt-1) capped at max, then a random 50-100% of it.
func backoff(attempt int, minD, maxD time.Duration) time.Duration {
	if minD <= 0 {
		minD = 500 * time.Millisecond
	}
	if maxD <= 0 {
		maxD = 30 * time.Second
	}
	maxD = max(maxD, minD)
	d := minD
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + rand.N(d/2+1)
}

// dial makes one connection attempt for c; on success c is running.
func (cl *Client) dial(s *session, c *Conn) error {
	if c.phase.Load() != phConnecting {
		return context.Canceled
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	c.cancelDial.Store(&cancel)
	if c.phase.Load() != phConnecting { // closed while we were setting up
		return context.Canceled
	}
	var cc *countingConn
	dialTCP := func(ctx context.Context, addr string) (*countingConn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		cc = newCountingConn(nc, cl.opts.NoDelay)
		c.cc.Store(cc)
		return cc, nil
	}
	var proxy *url.URL
	if cl.opts.ProxyURL != "" {
		pu, err := parseProxyURL(cl.opts.ProxyURL)
		if err != nil {
			return err
		}
		proxy = pu
	}
	dialPlain := func(ctx context.Context, addr string) (net.Conn, error) {
		if proxy != nil {
			return dialProxy(ctx, proxy, addr, cl.opts.TLS, dialTCP)
		}
		return dialTCP(ctx, addr)
	}
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			nc, err := dialPlain(ctx, addr)
			if err != nil {
				return nil, err
			}
			return newWatchConn(nc, true), nil
		},
		// wss: the TLS handshake is done here, as gorilla does it, so that
		// watchConn is over TLS.
		NetDialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			nc, err := dialPlain(ctx, addr)
			if err != nil {
				return nil, err
			}
			tc, err := tlsClient(ctx, nc, cl.opts.TLS, addr)
			if err != nil {
				_ = nc.Close()
				return nil, err
			}
			return newWatchConn(tc, true), nil
		},
		HandshakeTimeout:  cl.lim.handshakeTO,
		Subprotocols:      cl.opts.Protocols,
		EnableCompression: cl.opts.Compression,
		ReadBufferSize:    8 << 10,
		WriteBufferSize:   8 << 10,
	}
	ws, resp, err := d.DialContext(ctx, s.url, cl.opts.Header)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%v)", context.Canceled, err)
		}
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("handshake timeout: %w", err)
		}
		return err
	}
	c.attach(ws, cc, cl.opts.Compression && offersDeflate(resp.Header))
	if !c.phase.CompareAndSwap(phConnecting, phOpen) {
		_ = ws.Close()
		return context.Canceled
	}
	cl.hub.register(c)
	cl.hub.wg.Add(2)
	cl.hub.push(item{kind: EventConnected, c: c, ev: &Event{Kind: EventConnected, Conn: c, ID: 1, Protocol: ws.Subprotocol()}})
	c.start()
	return nil
}

// tlsClient is gorilla's client TLS handshake: the configuration's
// ServerName, else the host dialed; the certificate is checked against it
// unless InsecureSkipVerify.
func tlsClient(ctx context.Context, nc net.Conn, base *tls.Config, addr string) (*tls.Conn, error) {
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	if !cfg.InsecureSkipVerify {
		if err := tc.VerifyHostname(cfg.ServerName); err != nil {
			return nil, err
		}
	}
	return tc, nil
}

// Conn is the current connection (nil before the first Connect). It changes
// on Connect and, when reconnecting, with the Poll that returns
// EventReconnecting.
func (cl *Client) Conn() *Conn { return cl.cur }

// Status is the client's connection status as seen through Poll.
func (cl *Client) Status() ClientStatus {
	if cl.cur == nil {
		return ClientDisconnected
	}
	switch cl.cur.State() {
	case StateConnecting:
		return ClientConnecting
	case StateOpen, StateClosing:
		return ClientConnected
	}
	return ClientDisconnected
}

// Disconnect closes the current connection as Conn.Close does (dialing is
// cancelled) and stops auto-reconnection.
func (cl *Client) Disconnect(code int, reason string) error {
	if code != -1 {
		if err := validateClose(code, reason); err != nil {
			return err
		}
	}
	if cl.sess != nil {
		cl.sess.cancel()
	}
	if cl.cur == nil {
		return ErrNotOpen
	}
	if cl.cur.phase.Load() == phConnecting {
		return cl.cur.closeInternal(1000, "")
	}
	if err := cl.cur.Close(code, reason); err != nil && cl.cur.State() != StateClosed {
		return err
	}
	return nil
}

// Poll appends the events that happened since the last call to dst, in
// order, and returns it; it also writes what Send queued and may read from
// sockets, without blocking (see the package documentation).
func (cl *Client) Poll(dst []Event) []Event {
	cl.hub.flushDirty()
	cl.hub.path().readAll(&cl.hub)
	q := cl.hub.take()
	for i := range q {
		ev := q[i].apply()
		if ev.Kind == EventReconnecting {
			cl.cur = ev.Conn
		}
		dst = append(dst, ev)
	}
	cl.hub.release(q)
	return dst
}

// Shutdown closes the connection (code 1000), stops dialing and waits for
// every goroutine of the client (at most Options.CloseTimeout and a little
// more). Later Connect calls return ErrStopped.
func (cl *Client) Shutdown() {
	cl.stopped = true
	if cl.sess != nil {
		cl.sess.cancel()
	}
	for _, c := range cl.hub.liveConns() {
		_ = c.closeInternal(websocket.CloseNormalClosure, "")
	}
	cl.hub.wait(cl.lim.closeTO + 500*time.Millisecond)
}
