package peer

import (
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv("GOWS_RAW_CLIENTS"); spec != "" {
		rawClientProcess(spec) // a helper process of TestServerScale
		return
	}
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait; generous because the machine is shared.
const testTimeout = 20 * time.Second

// waitUntil calls step (usually polling) until cond holds or the deadline passes.
func waitUntil(t testing.TB, what string, step func(), cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		if step != nil {
			step()
		}
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// poller collects the events of a Client or Server.
type poller struct {
	poll   func([]Event) []Event
	events []Event
}

func (p *poller) step() { p.events = p.poll(p.events) }

// find returns the first collected event of that kind (and conn, when not nil).
func (p *poller) find(kind EventKind, c *Conn) (Event, bool) {
	for _, ev := range p.events {
		if ev.Kind == kind && (c == nil || ev.Conn == c) {
			return ev, true
		}
	}
	return Event{}, false
}

func (p *poller) count(kind EventKind) int {
	n := 0
	for _, ev := range p.events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// rig is a listening server and a connected client on loopback.
type rig struct {
	t      testing.TB
	srv    *Server
	cl     *Client
	sp, cp *poller
	sc     *Conn // the server side of the client's connection
	cc     *Conn
}

func newServer(t testing.TB, opts Options, protocols ...string) (*Server, *poller) {
	t.Helper()
	if len(protocols) > 0 {
		opts.Protocols = protocols
	}
	srv := NewServer(opts)
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, &poller{poll: srv.Poll}
}

func newClient(t testing.TB, opts Options) (*Client, *poller) {
	cl := NewClient(opts)
	t.Cleanup(cl.Shutdown)
	return cl, &poller{poll: cl.Poll}
}

func wsURL(srv *Server, path string) string {
	return "ws://127.0.0.1:" + strconv.Itoa(srv.Port()) + path
}

func newRig(t testing.TB, sopts, copts Options, protocols ...string) *rig {
	t.Helper()
	r := &rig{t: t}
	r.srv, r.sp = newServer(t, sopts, protocols...)
	r.cl, r.cp = newClient(t, copts)
	if err := r.cl.Connect(wsURL(r.srv, "/")); err != nil {
		t.Fatal(err)
	}
	r.cc = r.cl.Conn()
	r.waitConnected()
	return r
}

func (r *rig) step() { r.sp.step(); r.cp.step() }

func (r *rig) until(what string, cond func() bool) {
	r.t.Helper()
	waitUntil(r.t, what, r.step, cond)
}

func (r *rig) waitConnected() {
	r.t.Helper()
	r.until("both sides connected", func() bool {
		if ev, ok := r.cp.find(EventConnectError, nil); ok {
			r.t.Fatalf("connect error: %v", ev.Err)
		}
		_, a := r.cp.find(EventConnected, r.cc)
		ev, b := r.sp.find(EventConnected, nil)
		r.sc = ev.Conn
		return a && b
	})
}

// sendRetry sends, pumping events while the outbound queue is full.
func sendRetry(t testing.TB, c *Conn, data []byte, mode WriteMode, step func()) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		err := c.Send(data, mode)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrOutboundFull) || time.Now().After(deadline) {
			t.Fatalf("send: %v", err)
		}
		step()
		time.Sleep(100 * time.Microsecond)
	}
}

// needPollReads skips a test that asserts Poll's own socket reads where the
// platform's fast path has none (everywhere but Linux).
func needPollReads(t testing.TB) {
	if _, none := newHubPath().(noPath); none {
		t.Skip("Poll does not read sockets itself on this platform")
	}
}

// needPollWrites skips a test that asserts Poll's own socket writes on a
// connection where Poll does not write (no Unix socket: Windows).
func needPollWrites(t testing.TB, c *Conn) {
	if c.cc.Load().tw == nil {
		t.Skip("Poll does not write to sockets itself on this platform")
	}
}
