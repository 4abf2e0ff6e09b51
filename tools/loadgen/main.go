// Command loadgen is the client side of `make bench-server`: N WebSocket
// clients in one process, each sending a fixed-size binary input at a fixed
// rate and counting the messages the server sends back. It uses
// gorilla/websocket directly (not this repository's peer/ package), so the
// server under test is measured against an independent implementation.
//
//	loadgen -url ws://127.0.0.1:PORT/ -clients 500 -hz 10 -size 32 -out result.json
//
// It dials every client (at most -dial-parallel handshakes at a time), sends
// inputs from the moment each client is open, and stops by itself: when the
// server closes the connections, or at -timeout. The result (one JSON object)
// goes to -out, written atomically (a temporary file renamed), so a reader
// polling for the file never sees half of it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

type result struct {
	Clients       int     `json:"clients"`
	Connected     int64   `json:"connected"`
	DialErrors    int64   `json:"dial_errors"`
	FirstError    string  `json:"first_error,omitempty"`
	HandshakeSecs float64 `json:"handshake_secs"` // first dial to last successful handshake
	Sent          int64   `json:"sent"`
	Received      int64   `json:"received"`
	ReceivedBytes int64   `json:"received_bytes"`
	CPUSecs       float64 `json:"cpu_secs"` // this process, user + system
	WallSecs      float64 `json:"wall_secs"`
	TimedOut      bool    `json:"timed_out"`
}

func main() {
	url := flag.String("url", "", "server URL (ws://127.0.0.1:PORT/)")
	clients := flag.Int("clients", 100, "number of clients")
	hz := flag.Float64("hz", 10, "inputs per second per client (0: idle)")
	size := flag.Int("size", 32, "input size in bytes")
	parallel := flag.Int("dial-parallel", 128, "handshakes in flight at once")
	timeout := flag.Duration("timeout", 120*time.Second, "hard stop")
	out := flag.String("out", "", "result file (default stdout)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required")
		os.Exit(2)
	}

	var (
		res      = result{Clients: *clients}
		errOnce  sync.Once
		lastOK   atomic.Int64 // ns since start of the last successful handshake
		wg       sync.WaitGroup
		connsMu  sync.Mutex
		conns    []*websocket.Conn
		start    = time.Now()
		deadline = start.Add(*timeout)
	)
	dialer := websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}
	sem := make(chan struct{}, *parallel)
	input := make([]byte, *size)
	for i := range input {
		input[i] = byte(i)
	}

	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			c, _, err := dialer.Dial(*url, nil)
			<-sem
			if err != nil {
				atomic.AddInt64(&res.DialErrors, 1)
				errOnce.Do(func() { res.FirstError = err.Error() })
				return
			}
			lastOK.Store(int64(time.Since(start)))
			atomic.AddInt64(&res.Connected, 1)
			connsMu.Lock()
			conns = append(conns, c)
			connsMu.Unlock()
			_ = c.SetReadDeadline(deadline)

			done := make(chan struct{})
			if *hz > 0 {
				go func() {
					period := time.Duration(float64(time.Second) / *hz)
					// A random phase, so the inputs of all clients are spread over the period.
					t := time.NewTimer(time.Duration(rand.Int64N(int64(period))))
					defer t.Stop()
					for {
						select {
						case <-done:
							return
						case <-t.C:
						}
						_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
						if c.WriteMessage(websocket.BinaryMessage, input) != nil {
							return
						}
						atomic.AddInt64(&res.Sent, 1)
						t.Reset(period)
					}
				}()
			}
			var n, nb int64
			for {
				_, r, err := c.NextReader()
				if err != nil {
					break
				}
				m, _ := io.Copy(io.Discard, r)
				n++
				nb += m
			}
			close(done)
			atomic.AddInt64(&res.Received, n)
			atomic.AddInt64(&res.ReceivedBytes, nb)
			_ = c.Close()
		}()
	}

	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(time.Until(deadline) + 2*time.Second):
		res.TimedOut = true
		connsMu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		connsMu.Unlock()
		select {
		case <-finished:
		case <-time.After(2 * time.Second):
		}
	}
	res.HandshakeSecs = time.Duration(lastOK.Load()).Seconds()
	res.WallSecs = time.Since(start).Seconds()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		res.CPUSecs = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	// Counters read after the goroutines are done (or abandoned at the timeout).
	res.Sent, res.Received = atomic.LoadInt64(&res.Sent), atomic.LoadInt64(&res.Received)
	b, _ := json.Marshal(res)
	if *out == "" {
		fmt.Println(string(b))
		return
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if err := os.Rename(tmp, *out); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
