package peer

import (
	"sync"
	"sync/atomic"
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

	dirty []*Conn // caller thread: connections Send queued to since the last Poll

	wk waker
	fl flusher

	regMu sync.Mutex
	live  map[*Conn]struct{}
	fp    hubPath // the fast path (set by NewClient / NewServer; nil: none)

	wg sync.WaitGroup
}

// path is the hub's fast path (the no-op one for a hub made without).
func (h *hub) path() hubPath {
	if h.fp == nil {
		return noPath{}
	}
	return h.fp
}

func (h *hub) push(it item) {
	h.mu.Lock()
	h.q = append(h.q, it)
	h.mu.Unlock()
}

// waker wakes writer goroutines late, for data no Poll wrote out.
//
// Send does not wake the writer goroutine itself: a goroutine readied by a
// thread that keeps running (a game loop calling into Go many times per
// frame) waits in that thread's run-next slot until another thread steals
// it, and the runtime backs off with usleep(3) before stealing it — about
// 75 µs with Linux's default 50 µs timer slack — during which that thread
// does not poll the network either, so every message pays it twice per round
// trip. Instead the next Poll writes small amounts directly (flushDirect), and
// this timer wakes the writers of whatever is still queued a delay after a
// Send, for callers that do not poll again soon.
//
// The delay starts at wakeDelay. While Poll writes out sends before the timer
// fires (a caller that polls in a tight loop), it doubles up to wakeDelayMax:
// a timer every 500 µs would keep the runtime's threads busy (a goroutine
// per firing, a wake-up of the network poller per re-arm) next to the
// caller's thread for nothing. The first firing that finds no Poll since it
// was armed goes back to wakeDelay.
type waker struct {
	mu      sync.Mutex
	pending []*Conn
	spare   []*Conn
	timer   *time.Timer
	armed   bool
	closed  bool // during hub.wait: wake directly
	delay   time.Duration
	polled  atomic.Uint64 // flushDirty calls that wrote something
	armedAt uint64        // polled when the timer was armed
}

const (
	wakeDelay    = 500 * time.Microsecond
	wakeDelayMax = 4 * time.Millisecond
)

// wakeWriter makes sure c's writer goroutine looks at its queue within the
// waker's delay unless a Poll writes it out first (caller thread).
func (h *hub) wakeWriter(c *Conn) {
	k := &h.wk
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		c.signal()
		return
	}
	k.pending = append(k.pending, c)
	if !k.armed {
		k.armed = true
		k.armedAt = k.polled.Load()
		if k.delay == 0 {
			k.delay = wakeDelay
		}
		if k.timer == nil {
			k.timer = time.AfterFunc(k.delay, h.wakeLate)
		} else {
			k.timer.Reset(k.delay)
		}
	}
}

func (h *hub) wakeLate() {
	k := &h.wk
	k.mu.Lock()
	batch := k.pending
	k.pending, k.spare = k.spare[:0], nil
	k.armed = false
	if k.polled.Load() != k.armedAt {
		k.delay = min(2*k.delay, wakeDelayMax) // Poll keeps up
	} else {
		k.delay = wakeDelay
	}
	k.mu.Unlock()
	for i, c := range batch {
		if c.outCount.Load() > 0 {
			c.signal()
		}
		batch[i] = nil
	}
	k.mu.Lock()
	k.spare = batch[:0]
	k.mu.Unlock()
}

// stopWaker wakes every pending writer now (before waiting for every
// goroutine); until the wait is over, wakeWriter wakes writers directly.
func (h *hub) stopWaker() {
	k := &h.wk
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if k.timer != nil {
		k.timer.Stop()
	}
	k.armed = false
	for _, c := range k.pending {
		c.signal()
	}
	k.pending = k.pending[:0]
}

// flushDirty writes out what Send queued since the last Poll (caller
// thread): a few connections itself, more through the flusher goroutine.
func (h *hub) flushDirty() {
	if len(h.dirty) == 0 {
		return
	}
	h.wk.polled.Add(1)
	if len(h.dirty) > directFlushConns {
		h.handOff()
		return
	}
	for i, c := range h.dirty {
		c.flushDirect()
		h.dirty[i] = nil
	}
	h.dirty = h.dirty[:0]
}

// directFlushConns is how many connections' writes Poll does on the
// caller's thread: for a few, one syscall each costs less than waking a
// goroutine; a server sending to hundreds of peers spent milliseconds of
// the game's frame in those syscalls (make bench-server).
const directFlushConns = 8

// flusher is one goroutine that writes out the queues of many connections
// for the caller thread (handOff): one wake-up per batch instead of one per
// connection's writer, and none of the syscalls on the caller's thread. It
// runs while there is work and ends when there is none.
type flusher struct {
	mu       sync.Mutex
	q, spare []*Conn
	running  bool
	stopped  bool // during hub.wait: writers are signalled directly
}

// handOff gives the dirty connections to the flusher goroutine (caller thread).
func (h *hub) handOff() {
	f := &h.fl
	for _, c := range h.dirty {
		c.dirty = false
	}
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		for i, c := range h.dirty {
			c.signal()
			h.dirty[i] = nil
		}
		h.dirty = h.dirty[:0]
		return
	}
	if len(f.q) == 0 {
		f.q, h.dirty = h.dirty, f.q[:0] // swap: no copy
	} else {
		f.q = append(f.q, h.dirty...)
		clear(h.dirty)
		h.dirty = h.dirty[:0]
	}
	start := !f.running
	f.running = true
	f.mu.Unlock()
	if start {
		h.wg.Add(1)
		go h.flushLoop()
	}
}

func (h *hub) flushLoop() {
	defer h.wg.Done()
	f := &h.fl
	for {
		f.mu.Lock()
		batch := f.q
		if len(batch) == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.q, f.spare = f.spare, nil
		f.mu.Unlock()
		for i, c := range batch {
			if !c.tryFlush(false) {
				// A reader's pong or the writer holds writeMu: a
				// broadcast (SendTo) armed no waker, so wake the writer.
				c.signal()
			}
			batch[i] = nil
		}
		f.mu.Lock()
		f.spare = batch[:0]
		f.mu.Unlock()
	}
}

// take swaps the queue out; give it back with release after processing.
func (h *hub) take() []item { return swapOut(&h.mu, &h.q, &h.spare) }

// swapOut returns *q and puts *spare (empty, reused storage) in its place
// under mu; *spare is nil until the caller gives the storage back.
func swapOut[T any](mu *sync.Mutex, q, spare *[]T) []T {
	mu.Lock()
	out := *q
	*q = *spare
	mu.Unlock()
	*spare = nil
	return out
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
	h.path().add(h, c)
	h.regMu.Unlock()
}

func (h *hub) unregister(c *Conn) {
	h.regMu.Lock()
	delete(h.live, c)
	h.path().remove(h, c)
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
	h.stopWaker()
	h.fl.mu.Lock()
	h.fl.stopped = true
	h.fl.mu.Unlock()
	defer h.path().close(h)
	defer func() {
		h.wk.mu.Lock()
		h.wk.closed = false
		h.wk.mu.Unlock()
		h.fl.mu.Lock()
		h.fl.stopped = false
		h.fl.mu.Unlock()
	}()
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
