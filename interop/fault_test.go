package interop

import (
	"fmt"
	"testing"
	"time"

	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// killBound is how long after a SIGKILL our side may take to report the end.
const killBound = 5 * time.Second

// TestPeerKilled (issue 7): a peer process is killed with SIGKILL while it
// streams messages to us. Our side reports an unclean end (Clean false, code
// -1) within killBound, every message that arrived is readable, complete and
// in order with no gaps, and the connection is freed (our client reports
// disconnected; our server no longer lists the peer).
func TestPeerKilled(t *testing.T) {
	for _, im := range []impl{nodeImpl, pythonImpl} {
		t.Run(im.name+"/their-server", func(t *testing.T) {
			p, port := im.server(t, nil)
			s := ourClient(t, ourOpts, fmt.Sprintf("ws://127.0.0.1:%d/", port))
			floodThenKill(s, p)
			if st := s.cl.Status(); st != peer.ClientDisconnected {
				t.Fatalf("client status %v after the kill", st)
			}
		})
		t.Run(im.name+"/their-client", func(t *testing.T) {
			sd := ourServer(t, ourOpts)
			p := im.client(t, nil, sd.url())
			s := sd.next()
			id := s.conn.ID()
			floodThenKill(s, p)
			if sd.srv.Peer(id) != nil || len(sd.srv.PeerIDs(nil)) != 0 || sd.srv.Stats().Peers != 0 {
				t.Fatalf("the killed peer is still listed: %v, %+v", sd.srv.PeerIDs(nil), sd.srv.Stats())
			}
		})
	}
}

// floodThenKill asks the peer to stream "f0", "f1", ..., reads at least 2,000
// of them, kills the peer, and checks the end as TestPeerKilled says.
func floodThenKill(s *session, p *proc) {
	t := s.t
	t.Helper()
	n := 0
	readAll := func() {
		for {
			m, ok := s.conn.Read()
			if !ok {
				return
			}
			if want := fmt.Sprintf("f%d", n); !m.Text || string(m.Data) != want {
				t.Fatalf("message %d is %q (text %v), want %q: lost, cut or reordered", n, m.Data, m.Text, want)
			}
			n++
		}
	}
	s.sendText("cmd:flood")
	s.until("2,000 flooded messages", func() bool { readAll(); return n >= 2000 })
	p.kill()
	killed := time.Now()
	before := n
	var ev peer.Event
	s.until("the disconnect after SIGKILL", func() bool {
		readAll()
		var ok bool
		ev, ok = s.event(peer.EventDisconnected)
		return ok
	})
	took := time.Since(killed)
	readAll() // whatever Poll delivered together with the disconnect
	if took > killBound {
		t.Fatalf("the end was reported %v after the kill (bound %v)", took, killBound)
	}
	if ev.Clean || ev.Code != -1 || s.conn.CloseCode() != -1 || s.conn.State() != peer.StateClosed {
		t.Fatalf("after SIGKILL: %+v, CloseCode %d, state %v", ev, s.conn.CloseCode(), s.conn.State())
	}
	if _, ok := s.event(peer.EventCloseRequest); ok {
		t.Fatal("a close request was reported for a killed peer")
	}
	if s.conn.Available() != 0 || s.conn.Stats().QueuedIn != 0 {
		t.Fatalf("%d messages still queued after reading everything", s.conn.Available())
	}
	t.Logf("SIGKILL reported after %v (%v); %d messages read before the kill, %d after, all complete and in order",
		took.Round(time.Millisecond), ev.Err, before, n-before)
}

// TestPeerKilledBacklog (issue 7): the peer writes a burst that fits our
// socket's receive buffer and is killed while our caller is still reading
// through it slowly (a small MaxQueuedPackets keeps most of it in the socket,
// and heartbeat pings meet the dead peer's reset meanwhile). Every message of
// the burst had arrived before the kill, so every one is readable. (This
// found a bug in peer/: the failed ping closed the socket and the backlog was
// lost; see peer.TestPeerGoneBacklogReadable.)
func TestPeerKilledBacklog(t *testing.T) {
	const n = 4000 // about 30 KB of frames
	opts := ourOpts
	opts.MaxQueuedPackets = 64
	for _, im := range []impl{nodeImpl, pythonImpl} {
		t.Run(im.name+"/their-server", func(t *testing.T) {
			p, port := im.server(t, nil)
			burstThenKill(ourClient(t, opts, fmt.Sprintf("ws://127.0.0.1:%d/", port)), p, n)
		})
		t.Run(im.name+"/their-client", func(t *testing.T) {
			sd := ourServer(t, opts)
			p := im.client(t, nil, sd.url())
			burstThenKill(sd.next(), p, n)
			if len(sd.srv.PeerIDs(nil)) != 0 {
				t.Fatalf("the killed peer is still listed: %v", sd.srv.PeerIDs(nil))
			}
		})
	}
}

func burstThenKill(s *session, p *proc, n int) {
	t := s.t
	t.Helper()
	s.sendText(fmt.Sprintf("cmd:burst:%d", n))
	p.expect("SENT ")
	time.Sleep(100 * time.Millisecond) // on loopback, all of it is in our receive buffer by now
	p.kill()
	killed := time.Now()
	got := 0
	var ev peer.Event
	s.until("every message of the burst and the disconnect", func() bool {
		for k := 0; k < 20; k++ { // a slow reader: 20 messages per poll
			m, ok := s.conn.Read()
			if !ok {
				break
			}
			if want := fmt.Sprintf("b%d", got); string(m.Data) != want {
				t.Fatalf("message %d is %q, want %q", got, m.Data, want)
			}
			got++
		}
		var ended bool
		ev, ended = s.event(peer.EventDisconnected)
		if ended && s.conn.Available() == 0 && got < n {
			t.Fatalf("disconnected (%v) with %d of the %d messages read: the rest had arrived before the kill and were lost", ev.Err, got, n)
		}
		return ended && got == n
	})
	if ev.Clean || ev.Code != -1 {
		t.Fatalf("after SIGKILL: %+v", ev)
	}
	t.Logf("all %d messages read; the end (%v) reported %v after the kill", n, ev.Err, time.Since(killed).Round(time.Millisecond))
}
