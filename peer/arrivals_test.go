package peer

import (
	"fmt"
	"testing"
)

// fakeArrivals makes a server (not listening) with two connections and
// queues messages as Poll would: in the given order, "a" or "b" naming the
// connection.
func fakeArrivals(order ...string) (*Server, map[string]*Conn) {
	s := NewServer(Options{})
	conns := map[string]*Conn{}
	for i, name := range []string{"a", "b"} {
		c := newConn(&s.hub, s.lim)
		c.id = int32(i + 1)
		s.peers[c.id] = c
		conns[name] = c
	}
	n := map[string]int{}
	for _, name := range order {
		c := conns[name]
		n[name]++
		c.inCount.Add(1)
		c.deliver(Message{Data: []byte(fmt.Sprintf("%s%d", name, n[name])), Text: name == "b"})
		s.arrivals.add(c)
	}
	return s, conns
}

// readAll takes every message ReadNext has, as "data" strings.
func readAll(s *Server) []string {
	var got []string
	for s.ReadNext(func(c *Conn, data []byte, text bool) {
		if text != (c.id == 2) {
			got = append(got, "wrong text flag")
		}
		got = append(got, string(data))
	}) {
	}
	return got
}

func TestReadNextKeepsArrivalOrder(t *testing.T) {
	s, conns := fakeArrivals("a", "b", "b", "a", "b", "a")
	if got, want := fmt.Sprint(readAll(s)), "[a1 b1 b2 a2 b3 a3]"; got != want {
		t.Fatalf("ReadNext gave %s, want %s", got, want)
	}
	if conns["a"].Available() != 0 || conns["b"].Available() != 0 {
		t.Fatal("messages left in the connections' queues")
	}
	if s.ReadNext(func(*Conn, []byte, bool) { t.Fatal("called with nothing queued") }) {
		t.Fatal("ReadNext reported a message when none was left")
	}
}

func TestReadNextSkipsWhatTheConnectionGaveOut(t *testing.T) {
	s, conns := fakeArrivals("a", "b", "a", "b", "a")
	// b1 and a1 taken through the connections themselves: never twice.
	conns["b"].ReadWith(func(data []byte, _ bool) {})
	if m, _ := conns["a"].Read(); string(m.Data) != "a1" {
		t.Fatalf("Read gave %q", m.Data)
	}
	var got []string
	s.ReadNext(func(_ *Conn, data []byte, _ bool) { got = append(got, string(data)) }) // a2
	conns["a"].ReadWith(func([]byte, bool) {})                                         // a3
	got = append(got, readAll(s)...)
	if fmt.Sprint(got) != "[a2 b2]" {
		t.Fatalf("got %v, want [a2 b2]", got)
	}
}

func TestArrivalsPrune(t *testing.T) {
	s, conns := fakeArrivals("a", "b", "a", "b")
	conns["a"].ReadWith(func([]byte, bool) {})
	s.arrivals.prune(s.peers)
	if len(s.arrivals.list) != 3 {
		t.Fatalf("after one read %d entries listed, want 3", len(s.arrivals.list))
	}
	// A peer the server forgot: its entries go while ReadNext was never used...
	delete(s.peers, conns["b"].id)
	s.arrivals.prune(s.peers)
	if len(s.arrivals.list) != 1 {
		t.Fatalf("%d entries listed, want 1 (a2)", len(s.arrivals.list))
	}
	// ...and stay once it was: messages sent before the end are still read.
	s2, conns2 := fakeArrivals("a", "b", "a", "b")
	s2.ReadNext(func(*Conn, []byte, bool) {}) // a1
	delete(s2.peers, conns2["b"].id)
	s2.arrivals.prune(s2.peers)
	if got := fmt.Sprint(readAll(s2)); got != "[b1 a2 b2]" {
		t.Fatalf("got %s, want [b1 a2 b2]", got)
	}
}

func TestReadNextAllocatesNothing(t *testing.T) {
	s, conns := fakeArrivals()
	data := []byte("0123456789abcdef0123456789abcdef")
	queue := func() {
		for _, c := range []*Conn{conns["a"], conns["b"], conns["a"]} {
			c.inCount.Add(1)
			c.deliver(Message{Data: data})
			s.arrivals.add(c)
		}
	}
	queue()
	readAll(s)
	n := 0
	f := func(*Conn, []byte, bool) { n++ }
	allocs := testing.AllocsPerRun(100, func() {
		queue()
		for s.ReadNext(f) {
		}
		s.arrivals.prune(s.peers)
	})
	if allocs != 0 || n != 3*101 { // AllocsPerRun runs it once more to warm up
		t.Fatalf("%v allocations per run of 3 messages (read %d)", allocs, n)
	}
}

// End to end: a peer's messages are read in order across two clients, and
// those a peer sent before it disconnected are still read after Poll
// reported its end.
func TestReadNextAcrossPeersAndAfterTheEnd(t *testing.T) {
	srv, sp := newServer(t, Options{})
	var clients [2]*Client
	var cps [2]*poller
	for i := range clients {
		clients[i], cps[i] = newClient(t, Options{})
		if err := clients[i].Connect(wsURL(srv, "/")); err != nil {
			t.Fatal(err)
		}
	}
	step := func() {
		sp.step()
		cps[0].step()
		cps[1].step()
	}
	waitUntil(t, "both connected", step, func() bool {
		return sp.count(EventConnected) == 2 && cps[0].count(EventConnected) == 1 && cps[1].count(EventConnected) == 1
	})
	srv.ReadNext(func(*Conn, []byte, bool) {}) // nothing yet; marks ReadNext used
	var want []string
	for k := range 6 {
		i := []int{0, 1, 1, 0, 1, 0}[k]
		msg := fmt.Sprintf("c%d-%d", i, k)
		want = append(want, msg)
		if err := clients[i].Conn().Send([]byte(msg), WriteBinary); err != nil {
			t.Fatal(err)
		}
		before := sp.count(EventMessage)
		waitUntil(t, "message "+msg, step, func() bool { return sp.count(EventMessage) > before })
	}
	if err := clients[0].Conn().Close(1000, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "client 0 ended", step, func() bool { return sp.count(EventDisconnected) == 1 })
	step() // one more Poll after the end was reported
	var got []string
	sender := map[string]*Conn{} // "c0", "c1": the connection their messages came through
	for srv.ReadNext(func(c *Conn, data []byte, _ bool) {
		got = append(got, string(data))
		if prev, ok := sender[string(data[:2])]; ok && prev != c {
			t.Errorf("%s came through another connection than its client's earlier messages", data)
		}
		sender[string(data[:2])] = c
	}) {
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(sender) != 2 || sender["c0"] == sender["c1"] {
		t.Fatalf("got %v, want %v, from two connections", got, want)
	}
}

// BenchmarkServerReadNext: one op is one 32-byte message from a client,
// made readable by the server's Poll and read with ReadNext (allocations
// counted over every goroutine, the client's included).
//
//	go test -run '^$' -bench ServerReadNext -benchmem ./peer/
func BenchmarkServerReadNext(b *testing.B) {
	r := newRig(b, Options{}, Options{})
	msg := make([]byte, 32)
	var evs []Event
	read := 0
	f := func(*Conn, []byte, bool) { read++ }
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		for k := 0; k < 64 && sent < b.N; k++ {
			sendRetry(b, r.cc, msg, WriteBinary, func() { r.cl.Poll(nil) })
			sent++
		}
		r.cp.events = r.cl.Poll(r.cp.events[:0])
		for read < sent {
			evs = r.srv.Poll(evs[:0])
			for r.srv.ReadNext(f) {
			}
			r.cp.events = r.cl.Poll(r.cp.events[:0])
		}
	}
}
