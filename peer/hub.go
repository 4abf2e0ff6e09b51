package peer

import (
	"sync"
	"time"
)

// item is one queued event. Messages travel inline; rarer events carry a
// ready Event.
type item struct {
	kind EventKind
	c    *Conn
	msg  Message
	ev   *Event
}

// hub is what a Client or Server shares with its goroutines: one event queue
// (swapped out whole by Poll), the set of live connections, and a WaitGroup
// over every goroutine.
type hub struct {
	mu    sync.Mutex
	q     []item
	spare []item // caller thread (Poll) only

	regMu sync.Mutex
	live  map[*Conn]struct{}

	wg sync.WaitGroup
}

func (h *hub) push(it item) {
	h.mu.Lock()
	h.q = append(h.q, it)
	h.mu.Unlock()
}

// take swaps the queue out; give it back with release after processing.
func (h *hub) take() []item {
	h.mu.Lock()
	q := h.q
	h.q = h.spare
	h.mu.Unlock()
	h.spare = nil
	return q
}

func (h *hub) release(q []item) {
	clear(q)
	h.spare = q[:0]
}

func (h *hub) register(c *Conn) {
	h.regMu.Lock()
	if h.live == nil {
		h.live = make(map[*Conn]struct{})
	}
	h.live[c] = struct{}{}
	h.regMu.Unlock()
}

func (h *hub) unregister(c *Conn) {
	h.regMu.Lock()
	delete(h.live, c)
	h.regMu.Unlock()
}

func (h *hub) liveConns() []*Conn {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	out := make([]*Conn, 0, len(h.live))
	for c := range h.live {
		out = append(out, c)
	}
	return out
}

// wait waits for every goroutine; after grace it aborts every live
// connection (which makes the rest end promptly) and waits again.
func (h *hub) wait(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			for _, c := range h.liveConns() {
				c.fail(ErrCloseTimeout)
			}
			t.Reset(time.Second) // keep aborting any that were still being set up
		}
	}
}

// apply updates caller-visible state for one event and returns it
// (caller thread, from Poll).
func (it *item) apply() Event {
	c := it.c
	if it.kind == EventMessage {
		c.deliver(it.msg)
		return Event{Kind: EventMessage, Conn: c, ID: c.id}
	}
	ev := *it.ev
	switch ev.Kind {
	case EventConnected:
		c.state.CompareAndSwap(int32(StateConnecting), int32(StateOpen))
	case EventCloseRequest:
		c.state.CompareAndSwap(int32(StateOpen), int32(StateClosing))
	case EventDisconnected, EventConnectError:
		c.state.Store(int32(StateClosed))
		c.endCode, c.endReason = ev.Code, ev.Reason
		if ev.Kind == EventConnectError {
			c.endCode, c.endReason = -1, ""
		}
	}
	return ev
}
