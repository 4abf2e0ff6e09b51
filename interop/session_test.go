package interop

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// side is our end of the wire: a Client or a Server, polled only from the
// test goroutine. Poll's events are sorted per connection so one connection's
// checks never swallow another's events.
type side struct {
	t       *testing.T
	poll    func([]peer.Event) []peer.Event
	buf     []peer.Event
	fresh   []*peer.Conn                // connected, not yet taken by next()
	events  map[*peer.Conn][]peer.Event // everything but messages, per connection
	connErr error                       // a client's EventConnectError
	srv     *peer.Server
	cl      *peer.Client
}

func (sd *side) step() {
	sd.buf = sd.poll(sd.buf[:0])
	for _, ev := range sd.buf {
		switch ev.Kind {
		case peer.EventMessage:
			continue
		case peer.EventConnected:
			sd.fresh = append(sd.fresh, ev.Conn)
		case peer.EventConnectError:
			sd.connErr = ev.Err
		}
		sd.events[ev.Conn] = append(sd.events[ev.Conn], ev)
	}
}

// until polls until cond holds, failing the test after timeout.
func (sd *side) until(what string, cond func() bool) {
	sd.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			sd.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		sd.step()
		time.Sleep(200 * time.Microsecond)
	}
}

// ourOpts: heartbeats every 50 ms show the peers answer our pings (RTT > 0);
// the pong timeout is long because a peer inflating a backlog answers late.
// Limits are raised for the 1 MiB messages.
var ourOpts = peer.Options{
	HeartbeatInterval: 50 * time.Millisecond, PongTimeout: 10 * time.Second,
	InboundBufferSize: 8 << 20, OutboundBufferSize: 8 << 20,
}

// ourServer listens on loopback; next() waits for each peer that connects.
func ourServer(t *testing.T, opts peer.Options, protocols ...string) *side {
	t.Helper()
	if len(protocols) > 0 {
		opts.Protocols = protocols
	}
	srv := peer.NewServer(opts)
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return &side{t: t, poll: srv.Poll, events: map[*peer.Conn][]peer.Event{}, srv: srv}
}

func (sd *side) url() string { return fmt.Sprintf("ws://127.0.0.1:%d/", sd.srv.Port()) }

// next returns the next peer that connected to our server.
func (sd *side) next() *session {
	sd.t.Helper()
	sd.until("a peer to connect to our server", func() bool { return len(sd.fresh) > 0 })
	c := sd.fresh[0]
	sd.fresh = sd.fresh[1:]
	return &session{side: sd, conn: c}
}

// ourClient connects to url and waits until the connection is open.
func ourClient(t *testing.T, opts peer.Options, url string) *session {
	t.Helper()
	cl := peer.NewClient(opts)
	t.Cleanup(cl.Shutdown)
	if err := cl.Connect(url); err != nil {
		t.Fatal(err)
	}
	sd := &side{t: t, poll: cl.Poll, events: map[*peer.Conn][]peer.Event{}, cl: cl}
	sd.until("our client to connect to "+url, func() bool {
		if sd.connErr != nil {
			t.Fatalf("connect to %s: %v", url, sd.connErr)
		}
		return len(sd.fresh) > 0
	})
	s := &session{side: sd, conn: sd.fresh[0]}
	sd.fresh = nil
	return s
}

// session is one connection of ours.
type session struct {
	*side
	conn *peer.Conn
}

func (s *session) send(data []byte, text bool) {
	s.t.Helper()
	mode := peer.WriteBinary
	if text {
		mode = peer.WriteText
	}
	var err error
	s.until("room to send", func() bool {
		err = s.conn.Send(data, mode)
		return err != peer.ErrOutboundFull
	})
	if err != nil {
		s.t.Fatalf("Send %d bytes: %v", len(data), err)
	}
}

func (s *session) sendText(msg string) { s.t.Helper(); s.send([]byte(msg), true) }

func (s *session) read(what string) peer.Message {
	s.t.Helper()
	var m peer.Message
	s.until(what, func() bool {
		var ok bool
		m, ok = s.conn.Read()
		return ok
	})
	return m
}

// expect reads the next message and checks its type and content.
func (s *session) expect(what string, text bool, data []byte) {
	s.t.Helper()
	m := s.read(what)
	if m.Text != text || !bytes.Equal(m.Data, data) {
		s.t.Fatalf("%s: got text=%v %d bytes %.60q, want text=%v %d bytes %.60q", what, m.Text, len(m.Data), m.Data, text, len(data), data)
	}
}

func (s *session) event(kind peer.EventKind) (peer.Event, bool) {
	for _, e := range s.events[s.conn] {
		if e.Kind == kind {
			return e, true
		}
	}
	return peer.Event{}, false
}

// disconnected waits for the connection's EventDisconnected.
func (s *session) disconnected() peer.Event {
	s.t.Helper()
	var ev peer.Event
	s.until("the disconnect", func() bool {
		var ok bool
		ev, ok = s.event(peer.EventDisconnected)
		return ok
	})
	return ev
}
