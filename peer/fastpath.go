package peer

import "net"

// The fast path: socket I/O that Poll does itself, on the caller goroutine
// and without blocking, where a platform allows it (see the package
// documentation). The portable connection (goroutines only) sees it through
// this seam, called once per place; a platform fills it in from an init
// function (fastpath_unix.go: Poll's writes; fastpath_linux.go with
// internal/fastpath: the hub's own epoll set and Poll's reads). Without one, the no-op implementation below
// leaves all the I/O to the goroutines.

// hubPath is a platform's fast path for the connections of one hub (a
// Client's or a Server's).
type hubPath interface {
	// adopt runs in attach, before the connection's goroutines start, for
	// a socket with nothing between gorilla's watchConn wc and cc (no TLS).
	// It may take the socket over (cc's connection is then swapped) and
	// returns the connection's part, nil for none.
	adopt(c *Conn, cc *countingConn, wc *watchConn) connPath
	add(h *hub, c *Conn)    // c was registered (regMu held)
	remove(h *hub, c *Conn) // c was unregistered (regMu held)
	readAll(h *hub)         // Poll's reads (caller goroutine)
	close(h *hub)           // every goroutine of the hub ended (caller goroutine)
}

// connPath is a connection's part of the fast path.
type connPath interface {
	// Park is the reader goroutine's wait for data at a frame boundary
	// with nothing buffered above the socket (from watchConn.Read): Poll
	// may take complete frames meanwhile. It returns when the reader is to
	// read (data, the end, an error, or what Poll handed over).
	Park()
}

// tryWriter writes with one non-blocking write: Poll's direct flush
// (countingConn.endBatchTry). n < len(b) with a nil error: the socket took
// no more.
type tryWriter interface {
	tryWrite(b []byte) (n int, err error)
}

// Set by the platform's init; the defaults are the portable no-op.
var (
	newHubPath   = func() hubPath { return noPath{} }
	newTryWriter = func(net.Conn) tryWriter { return nil } // nil: Poll does not write on this connection
)

// noPath is the portable fast path: none.
type noPath struct{}

func (noPath) adopt(*Conn, *countingConn, *watchConn) connPath { return nil }
func (noPath) add(*hub, *Conn)                                 {}
func (noPath) remove(*hub, *Conn)                              {}
func (noPath) readAll(*hub)                                    {}
func (noPath) close(*hub)                                      {}
