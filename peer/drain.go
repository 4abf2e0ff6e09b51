package peer

import (
	"time"

	"github.com/gorilla/websocket"
)

// Drain prepares a rolling restart (caller goroutine): from now on, upgrade
// requests and the health path are answered with HTTP 503 (a load balancer
// takes the server out, clients with AutoReconnect land on another one) and
// held handshakes are refused with 503. The connected peers may finish what
// they are doing and leave — they close, or the caller closes them — until
// timeout; then the remaining ones are closed with 1001 (going away), their
// queued messages sent first. Once the last peer is gone, Poll returns
// EventDrained (once per Drain). A second Drain can only bring the
// deadline closer. Listen after Stop serves again.
func (s *Server) Drain(timeout time.Duration) error {
	if !s.listening {
		return ErrNotListening
	}
	if timeout < 0 {
		return ErrInvalidArgument
	}
	at := time.Now().Add(timeout)
	if !s.infra.drainWait || at.Before(s.infra.drainAt) {
		s.infra.drainAt = at
	}
	s.infra.drainWait = true
	s.infra.draining.Store(true)
	s.releaseHeld(503, "server draining")
	return nil
}

// Draining reports whether Drain was called since Listen.
func (s *Server) Draining() bool { return s.infra.draining.Load() }

// pollDrain closes the remaining peers at the deadline and reports
// EventDrained once none is left (from Poll).
func (s *Server) pollDrain(dst []Event) []Event {
	if !s.infra.drainWait {
		return dst
	}
	if !s.infra.drainClosed && !time.Now().Before(s.infra.drainAt) {
		s.infra.drainClosed = true
		for _, c := range s.hub.liveConns() {
			_ = c.closeInternal(websocket.CloseGoingAway, "server draining")
		}
	}
	// active counts upgrades under way too: one that began before Drain
	// ends as a peer (closed at once, see serveHTTP) or as nothing.
	if len(s.peers) == 0 && s.active.Load() == 0 {
		s.infra.drainWait = false
		dst = append(dst, Event{Kind: EventDrained})
	}
	return dst
}
