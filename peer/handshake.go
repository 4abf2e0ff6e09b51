package peer

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// With Options.ManualHandshake, serveHTTP holds each upgrade request: Poll
// returns EventHandshake (the id the peer will have, and the request), and
// the caller answers AcceptPeer or RejectPeer. A request with no answer
// within HandshakeTimeout is refused with HTTP 503 (the server, not the
// client, was too slow: 408 would tell the client to blame itself). Ids of
// refused handshakes are not reused.

type heldHandshake struct {
	answer chan handshakeAnswer // buffered: whoever takes it from the map sends once
}

type handshakeAnswer struct {
	status int // 0: accept
	reason string
}

// holdHandshake is called by serveHTTP before the upgrade. It returns the
// id the peer is to have (0: none chosen, the request is not held) and
// whether to go on; when not, the response was written.
func (s *Server) holdHandshake(w http.ResponseWriter, r *http.Request, req *RequestInfo) (int32, bool) {
	if !s.opts.ManualHandshake || !websocket.IsWebSocketUpgrade(r) || !s.checkOrigin(r) {
		return 0, true // not held; the upgrader refuses what is not a valid upgrade
	}
	id := s.nextID.Add(1)
	h := &heldHandshake{answer: make(chan handshakeAnswer, 1)}
	s.infra.heldMu.Lock()
	if s.infra.held == nil {
		s.infra.held = make(map[int32]*heldHandshake)
	}
	s.infra.held[id] = h
	s.infra.heldMu.Unlock()
	s.hub.push(item{kind: EventHandshake, ev: &Event{Kind: EventHandshake, ID: id, Request: req}})

	t := time.NewTimer(s.lim.handshakeTO)
	defer t.Stop()
	var a handshakeAnswer
	giveUp := func(why string) {
		a = handshakeAnswer{status: http.StatusServiceUnavailable, reason: why}
		if !s.takeHeld(id) {
			a = <-h.answer // answered (or released) as we gave up: that answer stands
		}
	}
	select {
	case a = <-h.answer:
	case <-t.C:
		giveUp("handshake not answered in time")
	case <-r.Context().Done():
		giveUp("client gone")
	}
	if a.status == 0 && s.infra.draining.Load() {
		a = handshakeAnswer{status: http.StatusServiceUnavailable, reason: "server draining"}
	}
	if a.status != 0 {
		if a.reason == "" {
			a.reason = http.StatusText(a.status)
		}
		http.Error(w, a.reason, a.status)
		return 0, false
	}
	return id, true
}

// takeHeld removes a held handshake; false when someone else did.
func (s *Server) takeHeld(id int32) bool {
	s.infra.heldMu.Lock()
	defer s.infra.heldMu.Unlock()
	if _, ok := s.infra.held[id]; !ok {
		return false
	}
	delete(s.infra.held, id)
	return true
}

func (s *Server) answer(id int32, a handshakeAnswer) error {
	s.infra.heldMu.Lock()
	h := s.infra.held[id]
	delete(s.infra.held, id)
	s.infra.heldMu.Unlock()
	if h == nil {
		return ErrUnknownPeer
	}
	h.answer <- a
	return nil
}

// AcceptPeer lets a held handshake upgrade (caller goroutine); the peer then
// arrives as EventConnected with the same id (unless the upgrade itself
// fails). ErrUnknownPeer when id is not held: answered, timed out, or the
// client went away.
func (s *Server) AcceptPeer(id int32) error { return s.answer(id, handshakeAnswer{}) }

// RejectPeer (caller goroutine) answers a held handshake with an HTTP status (400..599) and a
// reason (the response body; one line of at most 1024 bytes).
func (s *Server) RejectPeer(id int32, status int, reason string) error {
	if status < 400 || status > 599 {
		return fmt.Errorf("%w: HTTP status %d is not a refusal (400..599)", ErrInvalidArgument, status)
	}
	if len(reason) > 1024 || strings.ContainsAny(reason, "\r\n") {
		return fmt.Errorf("%w: reason must be one line of at most 1024 bytes", ErrInvalidArgument)
	}
	return s.answer(id, handshakeAnswer{status: status, reason: reason})
}

// releaseHeld refuses every held handshake (Drain, Stop).
func (s *Server) releaseHeld(status int, reason string) {
	s.infra.heldMu.Lock()
	held := s.infra.held
	s.infra.held = nil
	s.infra.heldMu.Unlock()
	for _, h := range held {
		h.answer <- handshakeAnswer{status: status, reason: reason}
	}
}
