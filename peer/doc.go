// Package peer is a WebSocket client and server (RFC 6455, on
// gorilla/websocket) for programs that run a loop on one thread, such as a
// game engine's main loop, and must never block it.
//
// A [Client] dials one connection at a time (with optional automatic
// reconnection); a [Server] accepts many. Each connection is a [*Conn]. Its
// socket is served by goroutines; what the program sees happens when it
// calls Poll ([Client.Poll], [Server.Poll]): Poll returns the events ([Event]) that
// happened since the last call, in order (connected, message, close request,
// disconnected, ...), and makes the received messages readable
// ([Conn.Read], [Conn.ReadWith]). Poll costs time proportional to the events
// waiting, never to the number of connections. [Conn.Send] copies the
// message into a bounded queue and never blocks; [Conn.Close] starts the
// closing handshake. Limits (queue sizes, the largest message, timeouts),
// heartbeats, permessage-deflate, TLS and an HTTP CONNECT proxy are set
// with [Options].
//
// # Concurrency
//
// Each Client and Server has a caller: the goroutine that calls its Poll.
// The methods documented "caller goroutine" (Poll, Send, Close, Read, ...)
// of a Client or Server and of its connections must not be called
// concurrently with each other: call them from one goroutine, or from
// several with your own synchronization between them. They are safe
// against the package's own goroutines and never block on the network.
// Methods documented "any goroutine" may be called from anywhere at any
// time. Different Clients and Servers are independent.
//
// Poll does socket I/O itself, without ever blocking: it writes what Send
// queued since the last Poll with one non-blocking write per connection
// (when the connection's writer goroutine is not writing; past 8
// connections it hands them all to the flusher goroutine instead, as
// Broadcast and SendTo do at once), and on Linux it
// reads complete frames from sockets whose reader goroutine waits idle
// between frames (one non-blocking epoll_wait per call, then one
// non-blocking read per ready connection, at most a few per call). A write
// the socket does not take whole, or anything that is not a complete plain
// data frame, is left to the connection's goroutines.
//
// No goroutine of the package calls back into the program: everything
// reaches it through Poll.
//
// # Internals: goroutines, locks, atomics
//
// For who works on this package (the names below are unexported). The
// goroutines:
//
//   - per connection, a reader (reads frames with gorilla, answers pings,
//     queues messages and events; on a protocol error it sends the close
//     frame and lingers) and a writer (writes what Send queued, pings,
//     the close frames of the handshake, and ends the connection: it
//     queues EventDisconnected);
//   - per Client.Connect, a supervisor that dials, and with
//     Options.AutoReconnect dials again after each end;
//   - per Server, the net/http server and one goroutine per upgrade request
//     (with Options.ManualHandshake it waits for AcceptPeer or RejectPeer,
//     handshake.go); with Options.ProxyProtocol also an accept goroutine and
//     one goroutine per new connection that reads its PROXY header
//     (proxyproto.go);
//   - timers: heartbeats, the close timeout (which drops the connection),
//     and the waker, which wakes writer goroutines whose queued messages no
//     Poll wrote within 0.5 ms (the delay doubles up to 4 ms while Poll
//     keeps writing them first);
//   - per Client or Server, while it has work, the flusher (hub.go): it
//     writes the queues of the connections Poll or Broadcast handed it,
//     as Poll would (trying writeMu, one non-blocking write each);
//   - on Linux, per Client or Server with connections, one poller goroutine
//     that waits on the sockets (its own epoll set) only when a goroutine
//     waits urgently for one or when Poll is idle: it has not run for twice
//     its usual interval (5–50 ms), or for 5 ms while messages arrive.
//
// The locks, in the order they may be taken (a lock is never held while
// taking one listed above it):
//
//   - Server.mu: stopping, and the WaitGroup.Add of new goroutines against
//     Stop's wait;
//   - hub.regMu: the set of live connections;
//   - on Linux, the epoll set's mutex (internal/fastpath Set.mu): its table
//     of connections and its lifetime (taken under regMu by register and
//     unregister, alone by the poller and Poll);
//   - Conn.writeMu: every write to the socket, by whichever goroutine: the
//     writer, the reader (pongs, the close frames it sends), Poll or the
//     flusher (which only try it, and skip the connection when it is
//     taken); also the
//     spare outbound queue and closeSent (no data frame follows a close
//     frame). gorilla's own write lock is taken only inside it;
//   - Conn.outMu: the outbound queue Send appends to, and the local close
//     request (localClose, dropped, closeCode, closeReason);
//   - countingConn.mu: the write batch buffer and the write error; it
//     serializes the writes to the socket below gorilla;
//   - last (nothing is taken while one is held): hub.mu (the event
//     queue), the waker's mutex, the flusher's mutex (its list of
//     connections), Conn.failMu (the first failure),
//     countingConn.swapMu (the connection below, swapped once on Linux when
//     the socket leaves Go's poller), infraState.heldMu (held handshakes),
//     proxyListener.mu (connections whose PROXY header is awaited), and on Linux the epoll gate's and
//     hand-over lists' mutexes and each socket's descriptor lock.
//
// Atomics with one writer (others only read them):
//
//   - Conn.state (the State the caller saw): the caller goroutine;
//   - Conn.outBytes and outCount: Send adds (the caller goroutine), the
//     writer, Poll or the flusher subtract under writeMu, so Send's limit
//     check is never too lenient;
//   - sharedBuf.refs (one Broadcast message queued to many connections):
//     Broadcast adds a reference per queue before the message can be
//     written; each write or drop releases one, the last returns the buffer;
//   - Conn.inBytes and inCount: the reader (or Poll's direct read) adds,
//     Read subtracts, so the reader's check is never too lenient;
//   - Conn.rtt: the reader (pongs); msgsOut and bytesOut: under writeMu.
//
// Conn.phase (what the goroutines know: connecting, open, closing) moves
// forward only, by compare-and-swap from any of them. On Linux, the read
// side of a socket belongs to its reader goroutine except while that
// goroutine waits idle between frames; Poll takes it from there with one
// compare-and-swap on an ownership word and gives it back before it returns.
//
// On other systems, and for connections with TLS, Poll does no reads and the
// reader goroutine reads everything; on Windows Poll does no writes either
// (the README's Performance section says why); the rules above are the same.
//
// The portable code reaches the platform's part through one seam,
// fastpath.go: hubPath, connPath and tryWriter, with a no-op default that a
// platform replaces from init: fastpath_unix.go (Poll's writes) and
// fastpath_linux.go, an adapter to internal/fastpath (the sockets out of
// Go's poller, the epoll set and its poller, the parked readers and Poll's
// reads).
package peer
