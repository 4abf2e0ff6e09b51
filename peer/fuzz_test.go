package peer

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzzers for what we parse and validate ourselves. Seeds are in f.Add and
// in testdata/fuzz/<name>/. Run one with, e.g.:
//   go test -run '^$' -fuzz '^FuzzValidateURL$' -fuzztime 30s ./peer/

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"ws://127.0.0.1:9080/chat?room=1", "wss://game.example/", "ws://[::1]:80/", "http://x/",
		"ws://", "ws://:80/", "ws://host:0/", "ws://host:65536/", "ws:host", "ws://h%zz/", "WS://HOST/", "ws://user:pw@h/#frag", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ValidateURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrUnsupportedURL) {
				t.Fatalf("ValidateURL(%q): untyped error %v", raw, err)
			}
			return
		}
		if u.Scheme != "ws" && u.Scheme != "wss" {
			t.Fatalf("accepted scheme %q", u.Scheme)
		}
		if u.Hostname() == "" {
			t.Fatalf("accepted %q without a host", raw)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				t.Fatalf("accepted port %q", p)
			}
		}
	})
}

func FuzzParseProxyURL(f *testing.F) {
	for _, s := range []string{"http://user:pass@127.0.0.1:3128", "https://proxy.lan/", "socks5://x:1", "http://", "http://:8080", "http://%41:80", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseProxyURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("parseProxyURL(%q): untyped error %v", raw, err)
			}
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Fatalf("accepted %q", raw)
		}
	})
}

func FuzzValidateClose(f *testing.F) {
	f.Add(1000, "")
	f.Add(4999, "bye")
	f.Add(1005, "")
	f.Add(3000, strings.Repeat("x", 124))
	f.Add(1000, "\xff")
	f.Add(-1, "")
	f.Fuzz(func(t *testing.T, code int, reason string) {
		err := validateClose(code, reason)
		ok := ValidCloseCode(code) && len(reason) <= MaxCloseReason && utf8.ValidString(reason)
		if (err == nil) != ok {
			t.Fatalf("validateClose(%d, %q) = %v", code, reason, err)
		}
		if err != nil && !errors.Is(err, ErrReasonTooLong) && !errors.Is(err, ErrInvalidCloseCode) && !errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("untyped error %v", err)
		}
		if ok && (code < 1000 || code > 4999) {
			t.Fatalf("code %d accepted", code)
		}
	})
}

// FuzzServerFrames writes arbitrary bytes after a valid upgrade: our server
// must neither panic nor hang; the connection ends once the peer is done.
func FuzzServerFrames(f *testing.F) {
	f.Add(rawFrame(frame{fin: true, op: opText, payload: []byte("hello"), masked: true}, -1))
	f.Add(rawFrame(frame{fin: false, op: opText, payload: []byte("he"), masked: true}, -1))
	f.Add(rawFrame(frame{fin: true, op: opClose, payload: closePayload(1000, "x"), masked: true}, -1))
	f.Add(rawFrame(frame{fin: true, op: opBinary, masked: true}, 1<<40))
	f.Add([]byte{0x81, 0xff, 0, 0})
	srv := NewServer(Options{InboundBufferSize: 1 << 16, CloseTimeout: 200 * time.Millisecond})
	if err := srv.Listen(0, "127.0.0.1", nil); err != nil {
		f.Fatal(err)
	}
	defer srv.Stop()
	var evs []Event
	f.Fuzz(func(t *testing.T, data []byte) {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
			testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
		// Frames only after the 101 (a client may not send them earlier).
		br := bufio.NewReader(conn)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", err, resp)
		}
		_, _ = conn.Write(data)
		_ = conn.(*net.TCPConn).CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		for {
			_, err := br.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("the server did not end the connection within 5 s")
				}
				break
			}
			evs = srv.Poll(evs[:0])
			for _, ev := range evs {
				if ev.Conn != nil {
					for {
						if _, ok := ev.Conn.Read(); !ok {
							break
						}
					}
				}
			}
		}
		evs = srv.Poll(evs[:0])
	})
}
