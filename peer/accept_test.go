package peer

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// failOnceListener's first Accept fails with an error that is not
// temporary (not a net.Error at all), as an accept can on some platforms
// while the listener stays open.
type failOnceListener struct {
	net.Listener
	failed atomic.Bool
}

func (l *failOnceListener) Accept() (net.Conn, error) {
	if !l.failed.Swap(true) {
		return nil, errors.New("accept failed (test)")
	}
	return l.Listener.Accept()
}

// An Accept error while the listener is open does not end the server's
// accept loop: the next client is still answered. (Before, http.Server.Serve
// returned on it and the Server stayed Listening with nobody accepting.)
func TestServerAcceptErrorKeepsListening(t *testing.T) {
	var fl *failOnceListener
	netListen = func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		fl = &failOnceListener{Listener: ln}
		return fl, nil
	}
	t.Cleanup(func() { netListen = net.Listen })
	srv, sp := newServer(t, Options{HandshakeTimeout: 2 * time.Second})
	cl, cp := newClient(t, Options{HandshakeTimeout: 2 * time.Second})
	if err := cl.Connect(wsURL(srv, "/")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cl.Conn().State() != StateOpen {
		if time.Now().After(deadline) || cl.Conn().State() == StateClosed {
			t.Fatalf("the client did not connect after the server's failed accept (state %v, accept failed: %v)", cl.Conn().State(), fl.failed.Load())
		}
		sp.step()
		cp.step()
		time.Sleep(time.Millisecond)
	}
	if !fl.failed.Load() {
		t.Fatal("the failing Accept was not called")
	}
}
