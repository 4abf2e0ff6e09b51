package peer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// Regression tests for the defects of issue 17 (each failed before its fix).

// Close(-1) on an auto-reconnecting client's connection stops reconnecting,
// as Close(1000) does.
func TestCloseDropStopsAutoReconnect(t *testing.T) {
	srv, sp := newServer(t, Options{})
	cl, cp := newClient(t, Options{AutoReconnect: true, ReconnectMinDelay: 5 * time.Millisecond, ReconnectMaxDelay: 10 * time.Millisecond})
	if err := cl.Connect(wsURL(srv, "/")); err != nil {
		t.Fatal(err)
	}
	step := func() { cp.step(); sp.step() }
	waitUntil(t, "connected", step, func() bool { return cp.count(EventConnected) == 1 })
	if err := cl.Conn().Close(-1, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "disconnected", step, func() bool { return cp.count(EventDisconnected) == 1 })
	deadline := time.Now().Add(150 * time.Millisecond) // many times the reconnect delay
	for time.Now().Before(deadline) {
		step()
		time.Sleep(time.Millisecond)
	}
	if n := cp.count(EventReconnecting); n != 0 {
		t.Fatalf("%d reconnect attempts after Close(-1)", n)
	}
}

// traceBufs counts the pooled message buffers taken and not returned while
// f runs (nothing else may run meanwhile).
func traceBufs(t *testing.T) *atomic.Int64 {
	var out atomic.Int64
	poolTrace = func(d int) { out.Add(int64(d)) }
	t.Cleanup(func() { poolTrace = nil })
	return &out
}

// Messages the reader drops (closing, inbound queue full) return their
// pooled buffers.
func TestDroppedMessagesReturnBuffers(t *testing.T) {
	out := traceBufs(t)
	r := newRig(t, Options{}, Options{MaxQueuedPackets: 2})
	const n = 50
	for i := 0; i < n; i++ {
		sendRetry(t, r.sc, []byte(fmt.Sprintf("message %d", i)), WriteBinary, r.sp.step)
	}
	// The client reads nothing: its queue fills, its reader waits for room.
	r.until("client queue full", func() bool { return r.cc.Available() == 2 })
	if err := r.cc.Close(1000, ""); err != nil {
		t.Fatal(err)
	}
	r.until("both disconnected", func() bool {
		return r.cp.count(EventDisconnected) == 1 && r.sp.count(EventDisconnected) == 1
	})
	for r.cc.ReadWith(func([]byte, bool) {}) {
	}
	if st := r.cc.Stats(); st.MessagesIn <= 2 {
		t.Fatalf("nothing dropped (%d messages in)", st.MessagesIn)
	}
	r.cl.Shutdown()
	r.srv.Stop()
	if n := out.Load(); n != 0 {
		t.Fatalf("%d pooled buffers not returned", n)
	}
}

// Under TLS, failing a connection (our close frame, then linger) sends the
// TCP FIN after close_notify, while our side still drains what the peer
// sends, as over plain TCP.
func TestTLSLingerSendsFIN(t *testing.T) {
	cert, _ := testCert(t)
	srv, sp := newServer(t, Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, CloseTimeout: 10 * time.Second})
	tcp, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tc := tls.Client(tcp, &tls.Config{InsecureSkipVerify: true})
	p := upgradeRaw(t, tc, "")
	waitUntil(t, "server connected", sp.step, func() bool { return sp.count(EventConnected) == 1 })
	sc := sp.events[0].Conn
	p.send(true, opText, []byte{'o', 'k', 0xff}) // invalid UTF-8: our server fails it with 1007
	f, err := p.readFrame(5 * time.Second)
	if err != nil || f.op != opClose {
		t.Fatalf("want a close frame, got %+v, %v", f, err)
	}
	if _, err := p.readFrame(5 * time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("want close_notify (EOF) after the close frame, got %v", err)
	}
	// The server lingers up to 2 s: its FIN must come before that.
	_ = tcp.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := tcp.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("want the TCP FIN, got %d bytes, %v", n, err)
	}
	select {
	case <-sc.readerDone:
		t.Fatal("the FIN came only when the server stopped lingering")
	default:
	}
}
