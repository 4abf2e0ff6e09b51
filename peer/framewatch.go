package peer

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// gorilla/websocket lets through, or answers with another code, a few frames
// RFC 6455 says must fail the connection:
//   - a close frame with a 1-byte payload: gorilla takes it for a close
//     without status code (1005) and answers it cleanly; its body must start
//     with a 2-byte code (§5.5.1), so it is a protocol error (1002);
//   - a close reason that is not UTF-8: gorilla fails with 1002; it is data
//     inconsistent with its type, 1007 (§7.4.1, as for text messages);
//   - a 64-bit payload length with the most significant bit set (§5.2):
//     gorilla drops the connection without a close frame; 1002.
//
// And the frames gorilla fails itself (bad reserved bits, opcode, masking,
// fragmentation or control frame; a message over the read limit; a bad close
// code) it fails by writing its own close frame from the reader goroutine,
// outside the connection's writeMu and with a write deadline countingConn
// ignores: a peer that stops reading could block that write, and with it
// Poll's direct flush (which would find writeMu free); and closeSent would
// stay false, so our data frames could follow that close frame. So watchConn
// fails those frames first, with gorilla's codes (1002, 1009).
//
// watchConn sits right under gorilla (over TLS when there is TLS) and follows
// the frame stream gorilla reads: frame headers only, and the payload of
// close frames (at most 125 bytes). On a frame to fail it hands gorilla the
// bytes before the frame, then a *frameError instead of the frame (gorilla
// never parses it); the reader then sends the close code itself
// (Conn.failWith) and lingers.

// frameError is a frame gorilla would mishandle; the connection is failed
// with code.
type frameError struct {
	code int
	msg  string
}

func (e *frameError) Error() string { return "websocket: " + e.msg }

// Unwrap makes errors.Is(err, ErrInvalidUTF8) hold for a close reason that is
// not UTF-8, and errors.Is(err, ErrMessageTooBig) for a message over the limit.
func (e *frameError) Unwrap() error {
	switch e.code {
	case 1007:
		return ErrInvalidUTF8
	case 1009:
		return ErrMessageTooBig
	}
	return nil
}

const (
	wOff     uint8 = iota // not following (server before the upgrade; after a close frame or an error)
	wHTTP                 // client: skipping the upgrade response up to its empty line
	wHeader               // collecting a frame header
	wPayload              // skipping a payload
	wClose                // collecting a close payload
)

type watchConn struct {
	net.Conn
	st      uint8
	hdr     [14]byte
	nh      int // header bytes collected
	need    int // header length, known once nh >= 2
	left    uint64
	key     [4]byte
	masked  bool
	pay     [125]byte
	np      int
	line    int // wHTTP: bytes in the current line
	client  bool
	inFrag  bool     // a fragmented data message is under way
	deflate bool     // permessage-deflate negotiated: RSV1 allowed (as gorilla allows it)
	limit   int64    // largest message in bytes on the wire, 0 for none (gorilla's read limit)
	msgLen  uint64   // bytes of the current message so far
	fp      connPath // set once established, when Poll may read directly
	lineCR  bool     // wHTTP: the current line starts with CR
	err     error
}

// newWatchConn wraps nc. A client's starts by skipping the HTTP response; a
// server's follows nothing until startFrames.
func newWatchConn(nc net.Conn, client bool) *watchConn {
	w := &watchConn{Conn: nc, client: client}
	if client {
		w.st = wHTTP
	}
	return w
}

// startFrames: the upgrade is done and nothing of the frame stream was read
// (a server's gorilla refuses a client that sent data before the 101).
func (w *watchConn) startFrames() { w.st = wHeader }

// CloseWrite half-closes the connection below, when it can: under TLS,
// close_notify and then the TCP FIN (tls.Conn.CloseWrite sends only the
// former).
func (w *watchConn) CloseWrite() error {
	nc := w.Conn
	if tc, ok := nc.(*tls.Conn); ok {
		_ = tc.CloseWrite()
		nc = tc.NetConn()
	}
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (w *watchConn) Read(p []byte) (int, error) {
	if w.err != nil { // reported once; later reads (lingering) go straight through
		err := w.err
		w.err, w.st = nil, wOff
		return 0, err
	}
	if w.fp != nil && w.st == wHeader && w.nh == 0 && !w.inFrag {
		// Between frames with nothing buffered above: Poll may take
		// complete frames until data comes.
		w.fp.Park()
	}
	n, err := w.Conn.Read(p)
	if w.st == wOff || n == 0 {
		return n, err
	}
	k, ferr := w.scan(p[:n])
	if ferr == nil {
		return n, err
	}
	if k > 0 {
		w.err = ferr
		return k, nil
	}
	w.st = wOff
	return 0, ferr
}

// scan follows the bytes in b. On a frame to fail it returns the offset in b
// where that frame began (0 when it began in an earlier read) and the error.
func (w *watchConn) scan(b []byte) (int, error) {
	start := 0
	for i := 0; i < len(b) && w.st != wOff; {
		switch w.st {
		case wHTTP:
			c := b[i]
			i++
			if c != '\n' {
				if w.line == 0 {
					w.lineCR = c == '\r'
				}
				w.line++
				continue
			}
			if w.line == 0 || w.line == 1 && w.lineCR { // the empty line ends the response
				w.st, w.nh = wHeader, 0
			}
			w.line, w.lineCR = 0, false
		case wHeader:
			if w.nh == 0 {
				start = i
			}
			if w.nh < 2 {
				n := copy(w.hdr[w.nh:2], b[i:])
				w.nh += n
				i += n
				if w.nh < 2 {
					continue
				}
				if err := w.checkStart(); err != nil {
					return start, err
				}
				w.need = 2
				switch w.hdr[1] & 0x7F {
				case 126:
					w.need += 2
				case 127:
					w.need += 8
				}
				if w.hdr[1]&0x80 != 0 {
					w.need += 4
				}
			}
			n := copy(w.hdr[w.nh:w.need], b[i:])
			w.nh += n
			i += n
			if w.nh == w.need {
				if err := w.endHeader(); err != nil {
					return start, err
				}
			}
		case wPayload:
			n := min(uint64(len(b)-i), w.left)
			i += int(n)
			w.left -= n
			if w.left == 0 {
				w.st, w.nh = wHeader, 0
			}
		case wClose:
			n := copy(w.pay[w.np:w.np+int(w.left)], b[i:])
			i += n
			w.np += n
			w.left -= uint64(n)
			if w.left == 0 {
				w.st = wOff // nothing after a close frame matters
				if err := w.checkClose(w.pay[:w.np]); err != nil {
					return start, err
				}
			}
		}
	}
	return len(b), nil
}

func (w *watchConn) endHeader() error {
	h := w.hdr[:w.nh]
	w.nh = 0
	var n uint64
	switch l := h[1] & 0x7F; l {
	case 126:
		n = uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		n = binary.BigEndian.Uint64(h[2:10])
		if n>>63 != 0 {
			return &frameError{1002, "64-bit payload length with the most significant bit set"}
		}
	default:
		n = uint64(l)
	}
	switch h[0] & 0x0F {
	case websocket.TextMessage, websocket.BinaryMessage:
		w.msgLen = n
	case 0:
		w.msgLen += n
	}
	if w.limit > 0 && h[0]&0x08 == 0 && w.msgLen > uint64(w.limit) {
		return &frameError{1009, "message larger than the read limit"}
	}
	w.masked = h[1]&0x80 != 0
	if w.masked {
		copy(w.key[:], h[len(h)-4:])
	}
	switch {
	case h[0]&0x0F != websocket.CloseMessage:
		w.st, w.left = wPayload, n
		if n == 0 {
			w.st = wHeader
		}
	case n == 1:
		return &frameError{1002, "close frame with a 1-byte payload"}
	case n == 0 || n > 125:
		w.st = wOff // valid without status; or too long, which gorilla fails
	default:
		w.st, w.left, w.np = wClose, n, 0
	}
	return nil
}

// checkStart applies gorilla's checks of a frame's first two bytes (which it
// fails with 1002) and follows the fragmentation of data messages.
func (w *watchConn) checkStart() error {
	b0, b1 := w.hdr[0], w.hdr[1]
	final := b0&0x80 != 0
	switch {
	case b0&0x40 != 0 && !w.deflate:
		return &frameError{1002, "RSV1 set"}
	case b0&0x30 != 0:
		return &frameError{1002, "RSV2 or RSV3 set"}
	case b1&0x80 != 0 == w.client: // a server's frames are not masked, a client's are
		return &frameError{1002, "bad MASK"}
	}
	switch b0 & 0x0F {
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
		if b1&0x7F > 125 {
			return &frameError{1002, "control frame longer than 125 bytes"}
		}
		if !final {
			return &frameError{1002, "fragmented control frame"}
		}
	case websocket.TextMessage, websocket.BinaryMessage:
		if w.inFrag {
			return &frameError{1002, "data frame inside a fragmented message"}
		}
		w.inFrag = !final
	case 0:
		if !w.inFrag {
			return &frameError{1002, "continuation frame outside a fragmented message"}
		}
		w.inFrag = !final
	default:
		return &frameError{1002, "reserved opcode"}
	}
	return nil
}

// checkClose: a close payload of 2..125 bytes.
func (w *watchConn) checkClose(p []byte) error {
	if w.masked {
		for i := range p {
			p[i] ^= w.key[i&3]
		}
	}
	if !ValidCloseCode(int(binary.BigEndian.Uint16(p))) {
		return &frameError{1002, "bad close code"}
	}
	if !utf8.Valid(p[2:]) {
		return &frameError{1007, "close reason is not UTF-8"}
	}
	return nil
}

// watchListener wraps accepted connections (over TLS when serving wss).
type watchListener struct{ net.Listener }

func (l watchListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newWatchConn(nc, false), nil
}
