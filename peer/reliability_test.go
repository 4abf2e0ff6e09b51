package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Reliability under faults: half-open connections, stuck readers, stopping
// under load, and a soak with random closes and reconnects.

// blackhole is a loopback TCP proxy that can start swallowing all traffic
// (both ways) without closing anything: a peer that vanished without FIN.
type blackhole struct {
	ln      net.Listener
	target  string
	swallow atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newBlackhole(t *testing.T, target string) *blackhole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			b.mu.Lock()
			b.conns = append(b.conns, c, up)
			b.mu.Unlock()
			b.wg.Add(2)
			go b.pipe(c, up)
			go b.pipe(up, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		for _, c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

func (b *blackhole) pipe(from, to net.Conn) {
	defer b.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		if b.swallow.Load() {
			continue
		}
		if _, err := to.Write(buf[:n]); err != nil {
			return
		}
	}
}

func TestHalfOpenDetectedByHeartbeats(t *testing.T) {
	const interval = 100 * time.Millisecond
	opts := Options{HeartbeatInterval: interval}
	srv, sp := newServer(t, opts)
	bh := newBlackhole(t, fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	cl, cp := newClient(t, opts)
	if err := cl.Connect("ws://" + bh.ln.Addr().String() + "/"); err != nil {
		t.Fatal(err)
	}
	step := func() { sp.step(); cp.step() }
	waitUntil(t, "connected", step, func() bool { return sp.count(EventConnected) == 1 && cl.Status() == ClientConnected })
	waitUntil(t, "an RTT", step, func() bool { return cl.Conn().RTT() > 0 })
	bh.swallow.Store(true)
	start := time.Now()
	waitUntil(t, "both ends to notice", step, func() bool {
		return sp.count(EventDisconnected) == 1 && cp.count(EventDisconnected) == 1
	})
	took := time.Since(start)
	// Pong timeout is 2 intervals; the ping that detects it can be up to one
	// interval away, plus scheduling slack.
	if took > 4*interval+300*time.Millisecond {
		t.Fatalf("half-open connection detected after %v with a %v heartbeat", took, interval)
	}
	for _, p := range []*poller{sp, cp} {
		ev, _ := p.find(EventDisconnected, nil)
		if ev.Clean || ev.Code != -1 {
			t.Fatalf("half-open end reported as %+v", ev)
		}
	}
	t.Logf("half-open connection detected by both ends in %v (heartbeat %v)", took, interval)
}

// A peer that stops reading fills its outbound queue to the limit (Send
// returns ErrOutboundFull), memory stays bounded, and another peer of the
// same server keeps its throughput.
func TestStuckReaderDoesNotHurtOthers(t *testing.T) {
	opts := Options{OutboundBufferSize: 1 << 20}
	srv, sp := newServer(t, opts)
	stuck := dialRaw(t, srv, "") // never reads
	_ = stuck
	cl, cp := newClient(t, Options{})
	if err := cl.Connect(wsURL(srv, "/")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "2 peers", func() { sp.step(); cp.step() }, func() bool { return sp.count(EventConnected) == 2 && cl.Status() == ClientConnected })
	var stuckConn, healthy *Conn
	for _, ev := range sp.events {
		if ev.Kind == EventConnected {
			if ev.Conn.RemotePort() == stuck.conn.LocalAddr().(*net.TCPAddr).Port {
				stuckConn = ev.Conn
			} else {
				healthy = ev.Conn
			}
		}
	}
	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	msg := make([]byte, 16<<10)
	sent := 0
	deadline := time.Now().Add(testTimeout)
	for {
		err := stuckConn.Send(msg, WriteBinary)
		if errors.Is(err, ErrOutboundFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sent++
		sp.step()
		if time.Now().After(deadline) {
			t.Fatal("the stuck peer's queue never filled")
		}
	}
	// The kernel buffers take some; the rest is our bounded queue.
	if q := stuckConn.BufferedAmount(); q > 1<<20 {
		t.Fatalf("outbound queue %d bytes over its 1 MiB limit", q)
	}
	// The healthy peer still gets 20,000 messages through promptly.
	start := time.Now()
	got := 0
	for i := 0; got < 20000; {
		if i < 20000 && healthy.Send([]byte("x"), WriteBinary) == nil {
			i++
		}
		sp.step()
		cp.step()
		for {
			if _, ok := cl.Conn().Read(); !ok {
				break
			}
			got++
		}
		if time.Since(start) > testTimeout {
			t.Fatalf("healthy peer got only %d messages", got)
		}
	}
	var ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	if grew := int64(ms1.HeapInuse) - int64(ms0.HeapInuse); grew > 8<<20 {
		t.Fatalf("heap grew %d MiB with a stuck reader", grew>>20)
	}
	t.Logf("stuck peer: %d messages (%d KiB) accepted before ErrOutboundFull; healthy peer: 20000 messages in %v",
		sent, sent*16, time.Since(start))
}

// Stop with 1,000 peers attached and traffic in flight: every peer gets a
// close frame (1001), and every goroutine ends (TestMain checks with goleak).
func TestStopWithThousandPeersUnderLoad(t *testing.T) {
	const n = 1000
	srv, sp := newServer(t, Options{})
	type result struct {
		code int
		err  error
	}
	results := make(chan result, n)
	var dialers sync.WaitGroup
	for i := 0; i < n; i++ {
		c, _, err := websocket.DefaultDialer.Dial(wsURL(srv, "/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		dialers.Add(1)
		go func(c *websocket.Conn) {
			defer dialers.Done()
			defer c.Close()
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						results <- result{code: ce.Code}
					} else {
						results <- result{err: err}
					}
					return
				}
			}
		}(c)
	}
	waitUntil(t, "1000 peers", sp.step, func() bool { return sp.count(EventConnected) == n })
	// Traffic in flight.
	for i := 0; i < 20; i++ {
		_ = srv.Broadcast(make([]byte, 1024), WriteBinary)
		sp.step()
	}
	start := time.Now()
	srv.Stop()
	stopped := time.Since(start)
	dialers.Wait()
	close(results)
	codes := map[int]int{}
	for r := range results {
		if r.err != nil {
			t.Fatalf("a peer ended without a close frame: %v", r.err)
		}
		codes[r.code]++
	}
	if codes[websocket.CloseGoingAway] != n {
		t.Fatalf("close codes seen by the peers: %v", codes)
	}
	sp.step()
	if d := sp.count(EventDisconnected); d != n {
		t.Fatalf("%d disconnect events after Stop, want %d", d, n)
	}
	t.Logf("Stop with %d peers and traffic in flight took %v; all got close 1001", n, stopped)
}

// Soak: 200 connections exchange numbered messages with random closes and
// reconnects. No message is lost or reordered on a connection that stayed
// open, and nothing grows. GOWS_SOAK_MESSAGES sets the total (default 100k;
// `make soak` runs 1,000,000).
func TestSoak(t *testing.T) {
	total := 100000
	if s := os.Getenv("GOWS_SOAK_MESSAGES"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		total = 20000
	}
	const conns = 200
	// One close per closeEvery messages delivered, on average (about 10
	// reconnects with -short, 50 in the default run). The closes were once
	// a chance per pass of the loop below: on Linux that made about 2
	// reconnects in a -short run, but under wine on a loaded machine the
	// loop turns far more often per message (500 to 8,000 reconnects, about
	// 66 new connections a second), more than the server accepted there
	// (its accept goroutine, alone busy, was found in Go's per-accept
	// socket options, each call through wineserver). The listening
	// socket's queue then filled with connections whose client had already
	// given up (the 3 s handshake timeout; `ss -ltn` showed its Recv-Q grow
	// from 195 to 1,476, most in CLOSE-WAIT), so every handshake the server
	// answered was already dead, and delivery stopped (at 512, 2,944 or
	// 7,701 messages) while the server's accept goroutine kept accepting.
	const closeEvery = 2000
	runtime.GC()
	g0 := runtime.NumGoroutine()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)

	srv, sp := newServer(t, Options{})
	rng := rand.New(rand.NewSource(1))
	type end struct {
		cl           *Client
		next, expect uint64 // sequence to send / to receive back
	}
	ends := make([]*end, conns)
	connect := func(i int) {
		cl := NewClient(Options{})
		if err := cl.Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
		ends[i] = &end{cl: cl}
	}
	for i := range ends {
		connect(i)
	}
	var evs []Event
	echo := func() {
		evs = sp.poll(evs[:0])
		for _, ev := range evs {
			if ev.Kind != EventMessage {
				continue
			}
			for {
				m, ok := ev.Conn.Read()
				if !ok {
					break
				}
				_ = ev.Conn.Send(m.Data, WriteBinary) // a peer closing meanwhile loses nothing we check
			}
		}
	}
	delivered, reconnects := 0, 0
	buf := make([]byte, 8)
	var cevs []Event
	deadline := time.Now().Add(5 * time.Minute)
	for delivered < total {
		if time.Now().After(deadline) {
			open := 0
			for _, e := range ends {
				if e.cl.Conn().State() == StateOpen {
					open++
				}
			}
			t.Fatalf("soak stalled at %d of %d messages (%d reconnects, %d of %d connections open)", delivered, total, reconnects, open, conns)
		}
		for i, e := range ends {
			cevs = e.cl.Poll(cevs[:0])
			c := e.cl.Conn()
			if c.State() == StateClosed {
				e.cl.Shutdown()
				connect(i)
				reconnects++
				continue
			}
			if c.State() != StateOpen {
				continue
			}
			for {
				m, ok := c.Read()
				if !ok {
					break
				}
				if got := binary.BigEndian.Uint64(m.Data); got != e.expect {
					t.Fatalf("connection %d: message %d arrived, expected %d (lost or reordered)", i, got, e.expect)
				}
				e.expect++
				delivered++
				// Now and then, close and come back: a chance per message
				// delivered, not per pass of this loop, so that how many
				// reconnects there are does not depend on how fast the
				// machine is (per pass, under wine on a loaded machine the
				// loop closed connections faster than the server accepted
				// new ones: see closeEvery).
				if rng.Intn(closeEvery) == 0 {
					_ = c.Close(1000, "soak")
				}
			}
			for k := 0; k < 8 && e.next-e.expect < 64; k++ {
				binary.BigEndian.PutUint64(buf, e.next)
				if c.Send(buf, WriteBinary) != nil {
					break
				}
				e.next++
			}
		}
		echo()
	}
	for _, e := range ends {
		e.cl.Shutdown()
	}
	srv.Stop()
	sp.step()
	for i := 0; i < 100 && runtime.NumGoroutine() > g0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	g1 := runtime.NumGoroutine()
	t.Logf("soak: %d messages over %d connections, %d reconnects, lost 0, reordered 0; goroutines %d before, %d after shutdown; heap in use %d KiB before, %d KiB after",
		delivered, conns, reconnects, g0, g1, ms0.HeapInuse>>10, ms1.HeapInuse>>10)
	if reconnects == 0 {
		t.Fatalf("no reconnects: the soak did not close and come back")
	}
	if g1 > g0 {
		t.Fatalf("%d goroutines left after shutdown (%d before)", g1, g0)
	}
	if ms1.HeapInuse > ms0.HeapInuse+16<<20 {
		t.Fatalf("heap grew from %d to %d KiB", ms0.HeapInuse>>10, ms1.HeapInuse>>10)
	}
}
