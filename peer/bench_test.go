package peer

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Benchmarks: the same workloads through peer/ (queues, goroutines, Poll)
// and through raw gorilla/websocket connections, in one run.
//   go test -run '^$' -bench . -benchmem ./peer/
// One op is one message echoed (sent, echoed by the server, read back).

var benchSizes = []int{64, 1 << 10, 16 << 10, 1 << 20}

// window is how many messages may be in flight in the echo benchmarks.
func window(size int) int { return max(1, min(256, (4<<20)/size/2)) }

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// echoStep polls the server of r and echoes every message back.
func (r *rig) echoStep(evs []Event) []Event {
	evs = r.srv.Poll(evs[:0])
	for r.sc.ReadWith(func(data []byte, _ bool) {
		for r.sc.Send(data, WriteBinary) == ErrOutboundFull {
			evs = r.srv.Poll(evs[:0])
		}
	}) {
	}
	return evs
}

func BenchmarkEcho(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("peer/"+sizeName(size), func(b *testing.B) {
			opts := Options{InboundBufferSize: 16 << 20, OutboundBufferSize: 16 << 20}
			r := newRig(b, opts, opts)
			msg := make([]byte, size)
			w := window(size)
			var evs []Event
			sent, got := 0, 0
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for got < b.N {
				for sent < b.N && sent-got < w && r.cc.Send(msg, WriteBinary) == nil {
					sent++
				}
				evs = r.cl.Poll(evs[:0])
				evs = r.echoStep(evs)
				evs = r.cl.Poll(evs[:0])
				for r.cc.ReadWith(func([]byte, bool) { got++ }) {
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
		b.Run("gorilla/"+sizeName(size), func(b *testing.B) {
			cl := rawGorillaPair(b)
			msg := make([]byte, size)
			w := window(size)
			credits := make(chan struct{}, w)
			done := make(chan error, 1)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			go func() {
				for i := 0; i < b.N; i++ {
					if _, _, err := cl.ReadMessage(); err != nil {
						done <- err
						return
					}
					<-credits
				}
				done <- nil
			}()
			for i := 0; i < b.N; i++ {
				credits <- struct{}{}
				if err := cl.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// BenchmarkRoundTrip: one 64-byte message at a time, there and back.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("peer", func(b *testing.B) {
		r := newRig(b, Options{}, Options{})
		msg := make([]byte, 64)
		var evs []Event
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_ = r.cc.Send(msg, WriteBinary)
			for {
				evs = r.cl.Poll(evs[:0])
				evs = r.echoStep(evs)
				evs = r.cl.Poll(evs[:0])
				if _, ok := r.cc.Read(); ok {
					break
				}
			}
		}
	})
	b.Run("gorilla", func(b *testing.B) {
		cl := rawGorillaPair(b)
		msg := make([]byte, 64)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := cl.WriteMessage(websocket.BinaryMessage, msg); err != nil {
				b.Fatal(err)
			}
			if _, _, err := cl.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// rawGorillaPair is a raw gorilla echo server (one goroutine reading and
// writing back) and a connected gorilla client, with the buffer sizes peer/ uses.
func rawGorillaPair(b *testing.B) *websocket.Conn {
	b.Helper()
	up := websocket.Upgrader{ReadBufferSize: 8 << 10, WriteBufferSize: 8 << 10}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan struct{})
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(32 << 20)
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if c.WriteMessage(mt, data) != nil {
				return
			}
		}
	})}
	go func() { defer close(served); _ = hs.Serve(ln) }()
	d := websocket.Dialer{ReadBufferSize: 8 << 10, WriteBufferSize: 8 << 10}
	cl, _, err := d.Dial("ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		b.Fatal(err)
	}
	cl.SetReadLimit(32 << 20)
	b.Cleanup(func() {
		cl.Close()
		_ = hs.Close()
		<-served
	})
	return cl
}

// --- server scale (GOWS_SCALE=1; heavy, so not part of the normal run) ---
//   GOWS_SCALE=1 go test -run 'TestServerScale|TestServerFanIn' -v ./peer/

func TestServerScale(t *testing.T) {
	if os.Getenv("GOWS_SCALE") != "1" {
		t.Skip("set GOWS_SCALE=1 to measure 1,000 and 10,000 connections")
	}
	raiseFileLimit(t, 12000)
	for _, n := range []int{1000, 10000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) { scaleRun(t, n) })
	}
}

// memNow returns the process RSS and the Go runtime's in-use memory.
func memNow() (rss, goMem uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	goMem = ms.HeapInuse + ms.StackInuse
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				rss = kb << 10
			}
		}
	}
	return
}

// rawClientProcess (GOWS_RAW_CLIENTS=port:n) opens n minimal raw WebSocket
// clients, prints READY, and holds them until stdin closes. Running them in
// their own process keeps their sockets and memory out of the measurement
// (and under each process's file limit).
func rawClientProcess(spec string) {
	port, n, _ := strings.Cut(spec, ":")
	count, _ := strconv.Atoi(n)
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
	buf := make([]byte, 512)
	conns := make([]net.Conn, 0, count)
	for i := 0; i < count; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			_, err = c.Write(req)
		}
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			var k int
			k, err = c.Read(buf)
			if err == nil && !strings.HasPrefix(string(buf[:k]), "HTTP/1.1 101") {
				err = fmt.Errorf("%q", buf[:k])
			}
		}
		if err != nil {
			fmt.Printf("FAIL %d: %v\n", i, err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

func scaleRun(t *testing.T, n int) {
	srv := NewServer(Options{})
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	var evs []Event
	rss0, go0 := memNow()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOWS_RAW_CLIENTS=%d:%d", srv.Port(), n))
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	accepted := time.Now().Add(120 * time.Second)
	for len(srv.peers) < n && time.Now().Before(accepted) {
		evs = srv.Poll(evs[:0])
		time.Sleep(time.Millisecond)
	}
	if line := <-ready; !strings.HasPrefix(line, "READY") {
		t.Fatalf("client process: %s", line)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(srv.peers) < n && time.Now().Before(deadline) {
		evs = srv.Poll(evs[:0])
		time.Sleep(time.Millisecond)
	}
	if len(srv.peers) != n {
		t.Fatalf("%d of %d connections accepted", len(srv.peers), n)
	}
	evs = nil
	time.Sleep(200 * time.Millisecond)
	rss1, go1 := memNow()
	// Idle Poll: nothing is waiting.
	const polls = 100000
	start := time.Now()
	for i := 0; i < polls; i++ {
		evs = srv.Poll(evs[:0])
	}
	idle := time.Since(start) / polls
	perRSS := float64(rss1-rss0) / float64(n) / 1024
	perGo := float64(go1-go0) / float64(n) / 1024
	t.Logf("%d idle connections: %.1f KiB RSS and %.1f KiB Go heap+stacks per server connection; idle Poll %v",
		n, perRSS, perGo, idle)
	if perGo > 24 {
		t.Errorf("memory per idle connection %.1f KiB, target 24 KiB", perGo)
	}
	if idle > 10*time.Microsecond {
		t.Errorf("idle Poll over %d connections took %v, target 10µs", n, idle)
	}
}

// TestServerFanIn: 1,000 connections each sending 100 messages; throughput
// and delivery latency (GOWS_SCALE=1).
func TestServerFanIn(t *testing.T) {
	if os.Getenv("GOWS_SCALE") != "1" {
		t.Skip("set GOWS_SCALE=1")
	}
	raiseFileLimit(t, 5000)
	const conns, each = 1000, 100
	srv := NewServer(Options{})
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	clients := make([]*websocket.Conn, conns)
	for i := range clients {
		c, _, err := websocket.DefaultDialer.Dial("ws://127.0.0.1:"+strconv.Itoa(srv.Port())+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	var evs []Event
	for len(srv.peers) < conns {
		evs = srv.Poll(evs[:0])
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	for _, c := range clients {
		go func(c *websocket.Conn) {
			msg := make([]byte, 16)
			for j := 0; j < each; j++ {
				ts := time.Now().UnixNano()
				for k := 0; k < 8; k++ {
					msg[k] = byte(ts >> (8 * k))
				}
				if c.WriteMessage(websocket.BinaryMessage, msg) != nil {
					return
				}
			}
		}(c)
	}
	lat := make([]time.Duration, 0, conns*each)
	deadline := time.Now().Add(60 * time.Second)
	for len(lat) < conns*each && time.Now().Before(deadline) {
		evs = srv.Poll(evs[:0])
		now := time.Now().UnixNano()
		for _, ev := range evs {
			if ev.Kind != EventMessage {
				continue
			}
			m, ok := ev.Conn.Read()
			if !ok {
				continue
			}
			var ts int64
			for k := 0; k < 8; k++ {
				ts |= int64(m.Data[k]) << (8 * k)
			}
			lat = append(lat, time.Duration(now-ts))
		}
	}
	elapsed := time.Since(start)
	if len(lat) != conns*each {
		t.Fatalf("%d of %d messages arrived", len(lat), conns*each)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("%d connections x %d messages: %.0f msg/s, delivery latency p50 %v, p99 %v",
		conns, each, float64(len(lat))/elapsed.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100])
}
