package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawClients dials n gorilla clients to srv and waits (polling srv) until
// the server has them all.
func rawClients(t testing.TB, srv *Server, sp *poller, n int) []*websocket.Conn {
	t.Helper()
	cs := make([]*websocket.Conn, n)
	for i := range cs {
		ws, _, err := websocket.DefaultDialer.Dial(wsURL(srv, "/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = ws
		t.Cleanup(func() { _ = ws.Close() })
	}
	waitUntil(t, fmt.Sprintf("%d peers", n), sp.step, func() bool { return sp.count(EventConnected) == n })
	return cs
}

// Broadcast to more peers than Poll writes itself: the flusher goroutine
// writes every peer's copy, in order, with no further Poll.
func TestBroadcastManyPeersWithoutPoll(t *testing.T) {
	srv, sp := newServer(t, Options{})
	const peers, msgs = 3 * directFlushConns, 50
	cs := rawClients(t, srv, sp, peers)
	for i := 0; i < msgs; i++ {
		data := bytes.Repeat([]byte{byte(i)}, 1000)
		binary.LittleEndian.PutUint32(data, uint32(i))
		if err := srv.Broadcast(data, WriteBinary); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, peers)
	for _, ws := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = ws.SetReadDeadline(time.Now().Add(testTimeout))
			for i := 0; i < msgs; i++ {
				kind, data, err := ws.ReadMessage()
				if err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
					return
				}
				want := bytes.Repeat([]byte{byte(i)}, 1000)
				binary.LittleEndian.PutUint32(want, uint32(i))
				if kind != websocket.BinaryMessage || !bytes.Equal(data, want) {
					errs <- fmt.Errorf("message %d: got %d bytes (kind %d) starting %x", i, len(data), kind, data[:min(8, len(data))])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.MessagesOut != peers*msgs || st.QueuedOut != 0 {
		t.Fatalf("stats: %d messages out, %d queued; want %d, 0", st.MessagesOut, st.QueuedOut, peers*msgs)
	}
}

// A text broadcast that is not UTF-8 queues nothing; a peer whose queue is
// full is skipped (and reported) while the others still get the message.
func TestBroadcastErrors(t *testing.T) {
	srv, sp := newServer(t, Options{MaxQueuedPackets: 1})
	cs := rawClients(t, srv, sp, 2)
	if err := srv.Broadcast([]byte{0xff}, WriteText); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if err := srv.Broadcast([]byte("x"), WriteMode(9)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad mode: %v", err)
	}
	var full *Conn
	for _, c := range srv.peers {
		full = c
		break
	}
	// Fill one peer's queue (one message allowed) without letting it drain.
	full.writeMu.Lock()
	full.outMu.Lock()
	full.outQ = append(full.outQ, outMsg{b: getBuf(1)})
	full.outMu.Unlock()
	full.outCount.Add(1)
	full.outBytes.Add(1)
	err := srv.Broadcast([]byte("hello"), WriteText)
	full.writeMu.Unlock()
	if !errors.Is(err, ErrOutboundFull) {
		t.Fatalf("full peer: %v", err)
	}
	full.signal()
	got := 0
	for _, ws := range cs {
		_ = ws.SetReadDeadline(time.Now().Add(testTimeout))
		for {
			kind, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if kind == websocket.TextMessage && string(data) == "hello" {
				got++
				break
			}
			if len(data) != 1 { // the filler
				t.Fatalf("unexpected %q", data)
			}
			break
		}
	}
	if got != 1 {
		t.Fatalf("%d peers got the broadcast, want 1 (the other's queue was full)", got)
	}
}

// BenchmarkBroadcast: one op is a 1 KiB broadcast to every peer and a Poll
// (what a game server does each frame), peers reading as fast as they can.
//
//	go test -run '^$' -bench Broadcast -benchmem ./peer/
func BenchmarkBroadcast(b *testing.B) {
	for _, peers := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("%dpeers", peers), func(b *testing.B) {
			srv, sp := newServer(b, Options{})
			cs := rawClients(b, srv, sp, peers)
			var wg sync.WaitGroup
			for _, ws := range cs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Raw bytes, not messages: the clients allocate nothing per message,
					// so allocs/op counts the server's.
					_, _ = io.Copy(io.Discard, ws.UnderlyingConn())
				}()
			}
			msg := make([]byte, 1024)
			var evs []Event
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for srv.Broadcast(msg, WriteBinary) != nil {
					evs = srv.Poll(evs[:0])
				}
				evs = srv.Poll(evs[:0])
			}
			b.StopTimer()
			srv.Stop()
			for _, ws := range cs {
				_ = ws.Close()
			}
			wg.Wait()
		})
	}
}

// SendTo reaches exactly the listed peers; a connection of another server is
// refused before anything is queued.
func TestSendTo(t *testing.T) {
	srv, sp := newServer(t, Options{})
	cs := rawClients(t, srv, sp, 3)
	var conns []*Conn
	for _, ev := range sp.events {
		if ev.Kind == EventConnected {
			conns = append(conns, ev.Conn)
		}
	}
	other, op := newServer(t, Options{})
	rawClients(t, other, op, 1)
	var stranger *Conn
	for _, c := range other.peers {
		stranger = c
	}
	if err := srv.SendTo([]*Conn{conns[0], stranger}, []byte("no"), WriteBinary); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a stranger's connection: %v", err)
	}
	if err := srv.SendTo(conns[:2], []byte("two"), WriteText); err != nil {
		t.Fatal(err)
	}
	if err := srv.Broadcast([]byte("all"), WriteText); err != nil {
		t.Fatal(err)
	}
	// Client i is whichever peer connected i-th; match by the remote port.
	for _, ws := range cs {
		var got []string
		_ = ws.SetReadDeadline(time.Now().Add(testTimeout))
		for len(got) == 0 || got[len(got)-1] != "all" {
			_, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(data))
		}
		listed := false
		for _, c := range conns[:2] {
			if c.RemotePort() == ws.LocalAddr().(*net.TCPAddr).Port {
				listed = true
			}
		}
		want := "[all]"
		if listed {
			want = "[two all]"
		}
		if fmt.Sprint(got) != want {
			t.Fatalf("client %v got %v, want %s", ws.LocalAddr(), got, want)
		}
	}
}

// A peer whose writeMu another goroutine holds when the flusher comes (a
// reader writing a pong, say) still gets the broadcast once the lock is
// free, with no further Poll or Send: the flusher wakes its writer.
func TestBroadcastToABusyPeerIsWritten(t *testing.T) {
	srv, sp := newServer(t, Options{})
	const peers = 2 * directFlushConns
	cs := rawClients(t, srv, sp, peers)
	ids := srv.PeerIDs(nil)
	busy := srv.Peer(ids[0])
	busy.writeMu.Lock()
	if err := srv.Broadcast([]byte("state"), WriteBinary); err != nil {
		busy.writeMu.Unlock()
		t.Fatal(err)
	}
	// Let the flusher pass the busy peer (it ends when its queue is empty).
	deadline := time.Now().Add(testTimeout)
	for {
		srv.hub.fl.mu.Lock()
		running := srv.hub.fl.running
		srv.hub.fl.mu.Unlock()
		if !running || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	busy.writeMu.Unlock()
	for i, ws := range cs {
		_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, data, err := ws.ReadMessage(); err != nil || string(data) != "state" {
			t.Fatalf("client %d: %q, %v (the busy peer's copy was never written)", i, data, err)
		}
	}
}
