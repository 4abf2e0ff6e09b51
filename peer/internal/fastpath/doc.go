// Package fastpath is the Linux fast path of package peer: TCP sockets
// taken out of Go's network poller (Socket), a per-hub epoll set whose
// poller goroutine watches them only when needed (Set), and the read side a
// connection's reader goroutine shares with Poll (Reader), so that Poll can
// read complete frames itself without waking any goroutine. On other
// systems the package is empty and peer does not use it.
//
// See peer's package documentation (Internals) and peer/fastpath.go for the
// seam through which peer uses it.
package fastpath
