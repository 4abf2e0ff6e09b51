//go:build linux

package peer

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gowebsocket/godot-gowebsocket/peer/internal/fastpath"
)

// mixedStream builds a byte stream of n messages of every kind (plain small
// and medium, bigger than one direct read, empty, text with multi-byte
// characters, fragmented with pings between fragments) plus lone pings. It
// returns the stream, the messages in order and the ping payloads in order.
func mixedStream(r *rand.Rand, n int, masked bool) (stream []byte, want []Message, pings []string, ends []int) {
	fr := func(fin bool, op byte, p []byte) {
		stream = append(stream, rawFrame(frame{fin: fin, op: op, payload: p, masked: masked}, -1)...)
		ends = append(ends, len(stream))
	}
	payload := func(size int, text bool) []byte {
		if text {
			s := []byte{}
			for len(s) < size {
				s = utf8.AppendRune(s, rune(0x20+r.IntN(0x3000)))
			}
			return s
		}
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for i := 0; i < n; i++ {
		text := r.IntN(3) == 0
		op := byte(opBinary)
		if text {
			op = opText
		}
		var p []byte
		switch k := r.IntN(20); {
		case k < 11:
			p = payload(r.IntN(200), text)
		case k < 15:
			p = payload(1000+r.IntN(20000), text)
		case k == 15:
			p = payload(70000+r.IntN(100000), text) // more than one direct read
		case k == 16:
			p = nil
		case k == 17:
			ping := payload(r.IntN(100), false)
			fr(true, opPing, ping)
			pings = append(pings, string(ping))
			i--
			continue
		default:
			p = payload(10+r.IntN(3000), text)
			parts := 2 + r.IntN(3)
			rest := p
			for j := 0; j < parts; j++ {
				cut := len(rest)
				if j < parts-1 {
					cut = r.IntN(len(rest) + 1)
					if text { // keep each fragment's bytes as they are; UTF-8 is checked whole
						cut = len(rest) / (parts - j)
					}
				}
				fop := byte(opCont)
				if j == 0 {
					fop = op
				}
				fr(j == parts-1, fop, rest[:cut])
				rest = rest[cut:]
				if j < parts-1 && r.IntN(2) == 0 {
					ping := payload(r.IntN(20), false)
					fr(true, opPing, ping)
					pings = append(pings, string(ping))
				}
			}
			want = append(want, Message{Data: p, Text: text})
			continue
		}
		fr(true, op, p)
		want = append(want, Message{Data: p, Text: text})
	}
	return stream, want, pings, ends
}

// writeChunks writes stream in random pieces with pauses, so that frames
// arrive whole, split and several at once while the other side polls.
func writeChunks(conn net.Conn, r *rand.Rand, stream []byte, ends []int, errc chan<- error) {
	off := 0
	for len(stream) > 0 {
		n := min(len(stream), 1+r.IntN(8192))
		if r.IntN(4) == 0 {
			n = min(len(stream), 1+r.IntN(16))
		}
		pause := false
		if r.IntN(3) == 0 { // up to a frame's end, then a pause: the reader parks, Poll reads
			for len(ends) > 0 && ends[0] <= off {
				ends = ends[1:]
			}
			if len(ends) > 0 {
				n, pause = ends[0]-off, true
			}
		}
		off += n
		_ = conn.SetWriteDeadline(time.Now().Add(testTimeout))
		if _, err := conn.Write(stream[:n]); err != nil {
			errc <- err
			return
		}
		stream = stream[n:]
		if pause {
			time.Sleep(time.Duration(200+r.IntN(300)) * time.Microsecond)
		} else if r.IntN(8) == 0 {
			time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
		}
	}
	errc <- nil
}

// lateReaders makes parked readers wake late now and then (until the test
// ends), so that Poll takes a good share of the data.
func lateReaders(t *testing.T) {
	var hr atomic.Uint64
	fastpath.ParkHook = func() {
		if n := hr.Add(1); n%3 == 0 {
			time.Sleep(time.Duration(n%200) * time.Microsecond)
		}
	}
	t.Cleanup(func() { fastpath.ParkHook = nil })
}

func TestDirectReadMixedStream(t *testing.T) {
	for _, role := range []string{"server", "client"} {
		t.Run(role, func(t *testing.T) {
			lateReaders(t)
			r := rand.New(rand.NewPCG(7, uint64(len(role))))
			var raw *rawPeer
			var c *Conn
			var step func()
			if role == "server" {
				srv, sp := newServer(t, Options{})
				raw = dialRaw(t, srv, "")
				waitUntil(t, "peer", sp.step, func() bool { return sp.count(EventConnected) == 1 })
				c = sp.events[0].Conn
				step = sp.step
			} else {
				rs := newRawServer(t, "")
				cl, cp := newClient(t, Options{})
				if err := cl.Connect(rs.url()); err != nil {
					t.Fatal(err)
				}
				raw = rs.accept(t)
				waitUntil(t, "connected", cp.step, func() bool { return cl.Status() == ClientConnected })
				c, step = cl.Conn(), cp.step
			}
			if readerOf(c) == nil {
				t.Fatal("no direct read on a plain TCP connection")
			}
			stream, want, pings, ends := mixedStream(r, 2000, raw.client)
			errc := make(chan error, 1)
			go writeChunks(raw.conn, r, stream, ends, errc)
			pongs := make(chan []string, 1)
			go func() {
				var got []string
				for len(got) < len(pings) {
					f, err := raw.readFrame(testTimeout)
					if err != nil {
						break
					}
					if f.op == opPong {
						got = append(got, string(f.payload))
					}
				}
				pongs <- got
			}()
			got := 0
			deadline := time.Now().Add(testTimeout)
			for got < len(want) {
				step()
				for {
					m, ok := c.Read()
					if !ok {
						break
					}
					w := want[got]
					if m.Text != w.Text || !bytes.Equal(m.Data, w.Data) {
						t.Fatalf("message %d: %d bytes text=%v, want %d bytes text=%v (equal prefix: %v)",
							got, len(m.Data), m.Text, len(w.Data), w.Text, bytes.HasPrefix(w.Data, m.Data))
					}
					got++
				}
				if time.Now().After(deadline) {
					t.Fatalf("got %d of %d messages", got, len(want))
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			gp := <-pongs
			if len(gp) != len(pings) {
				t.Fatalf("%d pongs for %d pings", len(gp), len(pings))
			}
			for i := range gp {
				if gp[i] != pings[i] {
					t.Fatalf("pong %d: %q, want %q", i, gp[i], pings[i])
				}
			}
			direct, all := c.directIn.Load(), c.msgsIn.Load()
			t.Logf("%d messages, %d pings; %d read by Poll, %d by the reader goroutine; Poll handed bytes over %d times",
				len(want), len(pings), direct, all-direct, readerOf(c).HandOvers())
			if readerOf(c).HandOvers() == 0 {
				t.Fatal("Poll never handed bytes over to the reader")
			}
			if all != int64(len(want)) {
				t.Fatalf("msgsIn %d, want %d", all, len(want))
			}
			if direct == 0 || direct == all {
				t.Fatalf("both paths should have read: Poll %d of %d", direct, all)
			}
			if c.State() != StateOpen {
				t.Fatalf("state %v after the stream", c.State())
			}
		})
	}
}

// Our client fragments messages larger than its write buffer, so a stream of
// mixed sizes makes the server's Poll stop at fragments and hand the rest
// over all the time. Nothing may be lost, reordered or misread.
func TestDirectReadFragmentedStream(t *testing.T) {
	lateReaders(t)
	r := newRig(t, Options{}, Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []int{64, 1024, 16 << 10, 40 << 10}
	const n = 3000
	window := 256
	sent, got := 0, 0
	deadline := time.Now().Add(testTimeout)
	for got < n {
		for sent < n && sent-got < window {
			size := sizes[rng.IntN(len(sizes))]
			msg := make([]byte, size)
			binary.LittleEndian.PutUint32(msg, uint32(sent))
			if r.cc.Send(msg, WriteBinary) != nil {
				break
			}
			sent++
		}
		r.step()
		for {
			m, ok := r.sc.Read()
			if !ok {
				break
			}
			if len(m.Data) < 4 || binary.LittleEndian.Uint32(m.Data) != uint32(got) {
				t.Fatalf("message %d: %d bytes, numbered %d", got, len(m.Data), binary.LittleEndian.Uint32(m.Data))
			}
			got++
		}
		window = 256 // phases of a stream (the reader reads) and of lockstep (Poll does)
		if got/300%2 == 1 {
			window = 1
		}
		if r.sc.State() != StateOpen || time.Now().After(deadline) {
			t.Fatalf("state %v after %d of %d messages (%d sent)", r.sc.State(), got, n, sent)
		}
	}
	d := readerOf(r.sc)
	t.Logf("%d messages: %d read by Poll, %d hand-overs", n, r.sc.directIn.Load(), d.HandOvers())
	if r.sc.directIn.Load() == 0 || d.HandOvers() == 0 {
		t.Fatal("the stream should have gone through both paths")
	}
}
