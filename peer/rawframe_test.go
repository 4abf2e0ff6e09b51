package peer

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A raw WebSocket endpoint that writes hand-built frames, for the
// conformance and hostile-input tests.

const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

type frame struct {
	fin     bool
	rsv     byte // RSV1..3 as the top bits 0x40|0x20|0x10 of byte 0
	op      byte
	payload []byte
	masked  bool
	extLen  int // bytes of extended payload length read (0, 2 or 8)
}

// rawFrame builds the bytes of f (masking with a random key when f.masked).
// length, when >= 0, overrides the payload length field.
func rawFrame(f frame, length int64) []byte {
	b0 := f.op | f.rsv
	if f.fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	n := int64(len(f.payload))
	if length >= 0 {
		n = length
	}
	mask := byte(0)
	if f.masked {
		mask = 0x80
	}
	switch {
	case n <= 125:
		out = append(out, mask|byte(n))
	case n <= 0xFFFF:
		out = append(out, mask|126, byte(n>>8), byte(n))
	default:
		out = append(out, mask|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	p := append([]byte(nil), f.payload...)
	if f.masked {
		var key [4]byte
		_, _ = rand.Read(key[:])
		out = append(out, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return append(out, p...)
}

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// rawPeer is one raw TCP WebSocket connection.
type rawPeer struct {
	t      testing.TB
	conn   net.Conn
	br     *bufio.Reader
	client bool // frames we write are masked
}

func (p *rawPeer) write(b []byte) {
	p.t.Helper()
	_ = p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatalf("raw write: %v", err)
	}
}

// send writes a frame, masked as our side of the connection requires.
func (p *rawPeer) send(fin bool, op byte, payload []byte) {
	p.write(rawFrame(frame{fin: fin, op: op, payload: payload, masked: p.client}, -1))
}

// readFrame reads one frame (or returns io.EOF / a timeout).
func (p *rawPeer) readFrame(timeout time.Duration) (frame, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return frame{}, err
	}
	f := frame{fin: h[0]&0x80 != 0, rsv: h[0] & 0x70, op: h[0] & 0x0F, masked: h[1]&0x80 != 0}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(p.br, e[:]); err != nil {
			return frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
		f.extLen = 2
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(p.br, e[:]); err != nil {
			return frame{}, err
		}
		n = binary.BigEndian.Uint64(e[:])
		f.extLen = 8
	}
	if n > 64<<20 {
		return frame{}, fmt.Errorf("frame of %d bytes", n)
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(p.br, key[:]); err != nil {
			return frame{}, err
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(p.br, f.payload); err != nil {
		return frame{}, err
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= key[i%4]
		}
	}
	return f, nil
}

// readEcho reads one control frame, or the frames of one data message joined
// into one (fin set; masked if any frame was).
func (p *rawPeer) readEcho(timeout time.Duration) (frame, error) {
	var msg frame
	started := false
	for {
		f, err := p.readFrame(timeout)
		if err != nil {
			return frame{}, err
		}
		if f.op >= opClose && !started {
			return f, nil
		}
		if !started {
			msg, started = frame{op: f.op, rsv: f.rsv}, true
		}
		msg.payload = append(msg.payload, f.payload...)
		msg.masked = msg.masked || f.masked
		if f.fin {
			msg.fin = true
			if msg.payload == nil {
				msg.payload = []byte{}
			}
			return msg, nil
		}
	}
}

// outcome is what the raw peer saw after a case: the close code our side sent
// (0 if none) and whether the TCP connection then ended.
type outcome struct {
	closeCode int
	dropped   bool
	echoes    []frame
}

// collect reads until the connection ends or goes quiet for quiet.
func (p *rawPeer) collect(quiet time.Duration) outcome {
	var o outcome
	for {
		f, err := p.readFrame(quiet)
		if err != nil {
			var ne net.Error
			o.dropped = !(errors.As(err, &ne) && ne.Timeout())
			return o
		}
		switch f.op {
		case opClose:
			o.closeCode = 1005
			if len(f.payload) >= 2 {
				o.closeCode = int(binary.BigEndian.Uint16(f.payload))
			}
			// Answer like a well-behaved peer, then expect the TCP end.
			_ = p.conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = p.conn.Write(rawFrame(frame{fin: true, op: opClose, payload: f.payload[:min(2, len(f.payload))], masked: p.client}, -1))
		case opPing:
			_, _ = p.conn.Write(rawFrame(frame{fin: true, op: opPong, payload: f.payload, masked: p.client}, -1))
		default:
			o.echoes = append(o.echoes, f)
		}
	}
}

const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

// dialRaw opens a raw client connection to srv and does the upgrade by hand.
func dialRaw(t testing.TB, srv *Server, extraHeaders string) *rawPeer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return upgradeRaw(t, conn, extraHeaders)
}

// upgradeRaw does the client's upgrade by hand on conn.
func upgradeRaw(t testing.TB, conn net.Conn, extraHeaders string) *rawPeer {
	t.Helper()
	t.Cleanup(func() { conn.Close() })
	p := &rawPeer{t: t, conn: conn, br: bufio.NewReader(conn), client: true}
	p.write([]byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n" + extraHeaders + "\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		t.Fatalf("upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade status %d", resp.StatusCode)
	}
	return p
}

// rawServer accepts one connection, answers the upgrade by hand and hands
// the raw peer to the test.
type rawServer struct {
	ln    net.Listener
	peers chan *rawPeer
}

func newRawServer(t testing.TB, extraResponse string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newRawServerOn(t, ln, extraResponse)
}

// newRawServerOn is newRawServer on a given listener (TLS for wss).
func newRawServerOn(t testing.TB, ln net.Listener, extraResponse string) *rawServer {
	t.Helper()
	rs := &rawServer{ln: ln, peers: make(chan *rawPeer, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReader(conn)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			conn.Close()
			return
		}
		accept := computeAccept(req.Header.Get("Sec-WebSocket-Key"))
		_, _ = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + accept + "\r\n" + extraResponse + "\r\n"))
		rs.peers <- &rawPeer{t: t, conn: conn, br: br}
	}()
	return rs
}

func (rs *rawServer) url() string { return "ws://" + rs.ln.Addr().String() + "/" }

func (rs *rawServer) accept(t testing.TB) *rawPeer {
	t.Helper()
	select {
	case p := <-rs.peers:
		p.t = t
		t.Cleanup(func() { p.conn.Close() })
		return p
	case <-time.After(testTimeout):
		t.Fatal("raw server: no connection")
		return nil
	}
}

func computeAccept(key string) string {
	h := sha1.Sum([]byte(strings.TrimSpace(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}
