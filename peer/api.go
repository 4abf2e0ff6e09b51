package peer

import (
	"crypto/tls"
	"errors"
	"net/http"
	"time"
)

// WriteMode is the frame type used for outgoing messages.
type WriteMode uint8

const (
	WriteText   WriteMode = 0 // text frames (payload must be valid UTF-8)
	WriteBinary WriteMode = 1 // binary frames
)

// State is a connection's ready state, as the caller has seen it through
// Poll (the values are those of the browser WebSocket API's readyState).
type State int32

const (
	StateConnecting State = 0
	StateOpen       State = 1
	StateClosing    State = 2
	StateClosed     State = 3
)

// ClientStatus is a Client's connection status (see Client.Status).
type ClientStatus int32

const (
	ClientDisconnected ClientStatus = 0
	ClientConnecting   ClientStatus = 1
	ClientConnected    ClientStatus = 2
)

// MaxCloseReason is the longest close reason RFC 6455 allows (125-byte control
// payload minus the 2-byte code).
const MaxCloseReason = 123

// Errors returned by the API. Compare with errors.Is: some are wrapped with
// details.
var (
	ErrInvalidURL       = errors.New("invalid WebSocket URL")              // malformed URL, missing host, bad port
	ErrUnsupportedURL   = errors.New("URL scheme must be ws or wss")       // any other scheme
	ErrInvalidArgument  = errors.New("invalid argument")                   // bad code, bad port, bad option value
	ErrReasonTooLong    = errors.New("close reason longer than 123 bytes") // Close with a longer reason
	ErrInvalidCloseCode = errors.New("close code not allowed")             // Close with a code RFC 6455 forbids sending
	ErrNotOpen          = errors.New("connection is not open")             // Send/Close on a connection not in StateOpen
	ErrOutboundFull     = errors.New("outbound queue is full")             // Send past OutboundBufferSize/MaxQueuedPackets
	ErrTooLarge         = errors.New("message larger than the buffer")     // Send of one message larger than OutboundBufferSize
	ErrInvalidUTF8      = errors.New("text message is not valid UTF-8")    // Send text that is not UTF-8
	ErrBusy             = errors.New("already connecting, connected or listening")
	ErrNotListening     = errors.New("server is not listening") // Server.Broadcast before Listen or after Stop
	ErrUnknownPeer      = errors.New("no peer with that id")    // Server.DisconnectPeer
	ErrStopped          = errors.New("stopped")                 // Client.Connect after Client.Shutdown
)

// Errors that explain why a connection ended (Event.Err of
// EventDisconnected; also ErrInvalidUTF8 for a text message or close reason
// received that is not UTF-8).
var (
	ErrMessageTooBig = errors.New("received message larger than InboundBufferSize (closed with 1009)")
	ErrPongTimeout   = errors.New("no pong within PongTimeout")
	ErrCloseTimeout  = errors.New("close handshake timed out")
	ErrAborted       = errors.New("connection dropped without close handshake")
)

// Defaults used where an Options field is zero.
const (
	DefaultHandshakeTimeout   = 3 * time.Second
	DefaultInboundBufferSize  = 4 << 20 // bytes
	DefaultOutboundBufferSize = 4 << 20 // bytes
	DefaultMaxQueuedPackets   = 4096    // messages, each direction
	DefaultCloseTimeout       = 3 * time.Second
)

// Options configure a Client or a Server. The zero value is usable: zero
// fields take the defaults above. Options are copied when a connection starts;
// changing them later affects only later connections.
type Options struct {
	HandshakeTimeout time.Duration // dial+upgrade (client) or time to send a full upgrade request (server)

	// InboundBufferSize caps the bytes of received messages waiting to be read
	// by the caller. It is also the largest message accepted: a bigger one
	// closes the connection with 1009. When the queue is full the reader stops
	// reading (TCP back-pressure); nothing is dropped.
	InboundBufferSize int
	// OutboundBufferSize caps bytes queued for sending. Send past it returns
	// ErrOutboundFull (a single message larger than it returns ErrTooLarge).
	OutboundBufferSize int
	// MaxQueuedPackets caps the message count of each queue (inbound stops
	// reading, outbound returns ErrOutboundFull).
	MaxQueuedPackets int

	HeartbeatInterval time.Duration // 0: no pings
	PongTimeout       time.Duration // 0: 2*HeartbeatInterval; no pong in time closes the connection uncleanly
	CloseTimeout      time.Duration // how long to wait for the peer's close frame after sending ours

	Compression bool        // offer/accept permessage-deflate
	TLS         *tls.Config // client: wss verification settings; server: certificates (non-nil serves wss)
	NoDelay     *bool       // TCP_NODELAY for new connections (nil: Go's default, true)

	// Protocols are the subprotocols (Sec-WebSocket-Protocol) a client
	// offers, in order of preference, or a server supports: it selects the
	// first the client offers that it lists (none when it lists none).
	Protocols []string

	// Client only.
	Header            http.Header // extra request headers (Origin, Cookie, Authorization ...)
	ProxyURL          string      // http:// or https:// CONNECT proxy, user:pass@ for basic auth
	AutoReconnect     bool
	ReconnectMinDelay time.Duration // first back-off delay (default 500ms), doubled per attempt with jitter
	ReconnectMaxDelay time.Duration // cap (default 30s)

	// Server only.
	ExtraHeaders   http.Header // added to every upgrade response
	AllowedOrigins []string    // empty: any origin; otherwise exact matches of the Origin header (requests without Origin are allowed)
	MaxConnections int         // 0: unlimited; beyond it, HTTP 503 before the upgrade

	// Server behind infrastructure (forwarded.go, proxyproto.go, drain.go,
	// handshake.go). TrustedProxies are addresses or CIDR ranges: only from
	// them are Forwarded / X-Forwarded-For / X-Real-IP believed (the peer's
	// address is the right-most untrusted hop) and PROXY headers accepted.
	// ProxyProtocol makes every connection start with a PROXY v1 or v2
	// header, from a trusted proxy only. HealthPath ("" off) answers a plain
	// GET with 200 while serving and 503 while draining. ManualHandshake
	// holds each upgrade request (EventHandshake) until AcceptPeer or
	// RejectPeer, HandshakeTimeout at most (then HTTP 503).
	TrustedProxies  []string
	ProxyProtocol   bool
	HealthPath      string
	ManualHandshake bool
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventConnected: client handshake finished, or a server accepted a peer.
	// Protocol holds the selected subprotocol ("" when none).
	EventConnected EventKind = iota
	// EventConnectError: the client could not connect (Err says why). No
	// EventDisconnected follows it.
	EventConnectError
	// EventMessage: one message was appended to Conn's readable queue.
	EventMessage
	// EventCloseRequest: the peer sent a close frame (Code, Reason). Our
	// reply is sent automatically.
	EventCloseRequest
	// EventDisconnected: the connection is finished. Clean is true only when
	// close frames went both ways; Code/Reason are the peer's (Code -1 when
	// not clean).
	EventDisconnected
	// EventReconnecting: an auto-reconnecting client will dial again after
	// Delay (Attempt counts from 1).
	EventReconnecting
	// EventHandshake (server, ManualHandshake): an upgrade request is held
	// until AcceptPeer(ID) or RejectPeer(ID, ...); Request says what it asked.
	// Conn is nil; ID is the id the peer gets if accepted.
	EventHandshake
	// EventDrained (server): after Drain, the last peer is gone.
	EventDrained
	// EventError (server): a connection was refused for a reason an operator
	// wants to see (a bad or missing PROXY header, an untrusted address
	// sending one); Err says what. Conn is nil.
	EventError
)

// Event is one thing that happened, returned by Poll in order.
type Event struct {
	Kind     EventKind
	Conn     *Conn
	ID       int32 // Conn's id (server peers: >0, never reused; client: 1)
	Protocol string
	Code     int
	Reason   string
	Clean    bool
	Err      error
	Attempt  int
	Delay    time.Duration
	Request  *RequestInfo // EventHandshake
}

// Message is one received message.
type Message struct {
	Data []byte // owned by the caller after Read
	Text bool   // arrived as a text frame

	buf *[]byte // pooled storage of Data until Read or ReadWith
}

// Stats are counters of one connection (or sums over a server's peers).
type Stats struct {
	MessagesIn, MessagesOut   int64
	BytesIn, BytesOut         int64 // payload bytes
	WireBytesIn, WireBytesOut int64 // bytes on the TCP stream (framing, compression, TLS records excluded/included as the socket sees them)
	QueuedIn, QueuedOut       int64 // bytes waiting in the inbound / outbound queue
	RTT                       time.Duration
	Peers                     int // servers only
}

// RequestInfo is what a server saw in a peer's upgrade request.
type RequestInfo struct {
	Path   string
	Query  string
	Header http.Header
	// Host and Port are the client's address: the TCP peer's, or, from a
	// trusted proxy, what the PROXY header or the forwarding headers say
	// (Port 0 when they do not say).
	Host string
	Port int
}
