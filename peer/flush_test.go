package peer

import (
	"testing"
	"time"
)

// Poll writes what Send queued with one non-blocking write on the caller
// thread: the bytes are on the wire when Poll returns. (When Poll comes
// later than the waker's first delay, 0.5 ms, the writer goroutine may hold
// the socket and write them itself: on a loaded machine an attempt can go
// that way, so the test fails only when no attempt of five is Poll's.)
func TestPollWritesQueuedMessagesDirectly(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	needPollWrites(t, r.cc)
	var got int64
	for attempt := 1; attempt <= 5; attempt++ {
		before := r.cc.Stats().WireBytesOut
		for i := 0; i < 10; i++ {
			if err := r.cc.Send(make([]byte, 100), WriteBinary); err != nil {
				t.Fatal(err)
			}
		}
		r.cp.step()
		// 10 frames of 100 bytes: 2-byte header + 4-byte mask each.
		got = r.cc.Stats().WireBytesOut - before
		n := r.cc.BufferedAmount()
		r.until("10 messages", func() bool { return r.sc.Available() == 10 })
		for r.sc.Available() > 0 {
			r.sc.Read()
		}
		if got >= 10*106 && n == 0 {
			return
		}
		t.Logf("attempt %d: after Poll %d bytes were written, %d still buffered", attempt, got, n)
	}
	t.Fatalf("after Poll %d bytes were written, want at least %d (in none of 5 attempts)", got, 10*106)
}

// Without a Poll on the sending side, messages still go out promptly (the
// waker wakes the writer goroutine), small or large.
func TestSendWithoutPollIsDelivered(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	for _, size := range []int{10, 64 << 10} {
		start := time.Now()
		if err := r.cc.Send(make([]byte, size), WriteBinary); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "delivery without a client Poll", r.sp.step, func() bool { return r.sc.Available() == 1 })
		if m, _ := r.sc.Read(); len(m.Data) != size {
			t.Fatalf("got %d bytes, want %d", len(m.Data), size)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("a %d-byte message took %v without a Poll", size, d)
		}
	}
}

// While Poll writes out every Send before the waker fires, the waker's delay
// grows to wakeDelayMax (fewer timer firings beside a busy caller); a Send
// that no Poll follows is still delivered, and the first firing that finds
// no Poll since it was armed brings the delay back to wakeDelay.
func TestWakerBacksOffWhilePollKeepsUp(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	needPollWrites(t, r.cc)
	k := &r.cl.hub.wk
	delay := func() time.Duration {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.delay
	}
	deadline := time.Now().Add(testTimeout)
	for delay() != wakeDelayMax {
		if time.Now().After(deadline) {
			t.Fatalf("delay %v after polling behind every Send, want %v", delay(), wakeDelayMax)
		}
		if err := r.cc.Send([]byte("x"), WriteBinary); err != nil {
			t.Fatal(err)
		}
		r.cp.step() // writes it out
		r.sp.step()
		for r.sc.Available() > 0 {
			r.sc.Read()
		}
		time.Sleep(200 * time.Microsecond)
	}
	// Sends that no Poll follows: each is delivered, and a firing that
	// finds no Poll since it was armed resets the delay (the first may
	// meet the timer the loop armed, with its Polls).
	for i := 0; delay() != wakeDelay; i++ {
		if i == 5 {
			t.Fatalf("delay %v after %d sends without a Poll, want %v", delay(), i, wakeDelay)
		}
		if err := r.cc.Send([]byte("late"), WriteBinary); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "delivery without a client Poll", r.sp.step, func() bool {
			m, ok := r.sc.Read()
			return ok && string(m.Data) == "late"
		})
	}
}
