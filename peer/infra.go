package peer

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// infraState is what a Server needs behind infrastructure: trusted proxies
// (forwarded.go, proxyproto.go), draining and the health path (drain.go),
// held handshakes (handshake.go) and error reports.
type infraState struct {
	trusted  trustSet
	draining atomic.Bool

	// caller goroutine (drain.go)
	drainAt     time.Time // when the remaining peers are closed
	drainWait   bool      // Drain called, EventDrained not returned yet
	drainClosed bool      // the remaining peers were closed at drainAt

	heldMu sync.Mutex
	held   map[int32]*heldHandshake // handshake.go

	errs    atomic.Int32 // EventError queued and not polled yet
	dropped atomic.Int32 // error reports dropped since (over maxErrorEvents)
}

// maxErrorEvents bounds the EventErrors waiting for Poll: a flood of bad
// connections must not grow the queue of a server nobody polls.
const maxErrorEvents = 64

// prepareInfra checks the infrastructure options at Listen and wraps the TCP
// listener for the PROXY protocol when asked.
func (s *Server) prepareInfra(ln net.Listener) (net.Listener, error) {
	t, err := parseTrusted(s.opts.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if s.opts.ProxyProtocol && len(t) == 0 {
		return nil, fmt.Errorf("%w: the PROXY protocol needs trusted proxies (no one else may send it)", ErrInvalidArgument)
	}
	if s.opts.HealthPath != "" && s.opts.HealthPath[0] != '/' {
		return nil, fmt.Errorf("%w: health path %q must start with /", ErrInvalidArgument, s.opts.HealthPath)
	}
	s.infra.trusted = t
	s.infra.draining.Store(false)
	s.infra.drainWait, s.infra.drainClosed = false, false
	if !s.opts.ProxyProtocol {
		return ln, nil
	}
	pl := newProxyListener(ln, t, s.lim.handshakeTO, s.report)
	s.hub.wg.Add(1)
	go func() {
		defer s.hub.wg.Done()
		pl.run()
	}()
	return pl, nil
}

// connContext is the http.Server's ConnContext when the listener reads
// PROXY headers.
func connContext(ln net.Listener) func(ctx context.Context, c net.Conn) context.Context {
	if pl, ok := ln.(*proxyListener); ok {
		return pl.connContext
	}
	return nil
}

// report queues an EventError (any goroutine).
func (s *Server) report(err error) {
	if s.infra.errs.Add(1) > maxErrorEvents {
		s.infra.errs.Add(-1)
		s.infra.dropped.Add(1)
		return
	}
	s.hub.push(item{kind: EventError, ev: &Event{Kind: EventError, Err: err}})
}

// serveInfra answers what is not an upgrade to be served: the health path,
// and every request while draining. It reports whether it answered.
func (s *Server) serveInfra(w http.ResponseWriter, r *http.Request) bool {
	if p := s.opts.HealthPath; p != "" && r.URL.Path == p && !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		case s.infra.draining.Load():
			http.Error(w, "draining", http.StatusServiceUnavailable)
		default:
			http.Error(w, "ok", http.StatusOK)
		}
		return true
	}
	if s.infra.draining.Load() {
		http.Error(w, "server draining", http.StatusServiceUnavailable)
		return true
	}
	return false
}

// pollInfra runs at the end of each Poll: error reports and draining.
func (s *Server) pollInfra(dst []Event) []Event {
	if n := s.infra.dropped.Swap(0); n > 0 {
		dst = append(dst, Event{Kind: EventError, Err: fmt.Errorf("%d more refused connections not reported", n)})
	}
	return s.pollDrain(dst)
}
