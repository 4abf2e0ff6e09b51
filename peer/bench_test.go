package peer

import (
	"fmt"
	"testing"
)

// BenchmarkThroughput sends b.N messages server→client (and client→server)
// through loopback, with the receiving caller thread polling and reading.
// allocs/op counts every goroutine's allocations per message.
func BenchmarkThroughput(b *testing.B) {
	for _, size := range []int{64, 1024, 16 << 10} {
		for _, dir := range []string{"s2c", "c2s"} {
			b.Run(fmt.Sprintf("%s/%dB", dir, size), func(b *testing.B) {
				r := newRig(b, Options{}, Options{})
				from, to := r.sc, r.cc
				if dir == "c2s" {
					from, to = r.cc, r.sc
				}
				msg := make([]byte, size)
				var evs []Event
				got := 0
				step := func() {
					evs = r.sp.poll(evs[:0])
					evs = r.cp.poll(evs[:0])
					for {
						if _, ok := to.Read(); !ok {
							break
						}
						got++
					}
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for from.Send(msg, WriteBinary) != nil {
						step()
					}
					if i%64 == 0 {
						step()
					}
				}
				for got < b.N {
					step()
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			})
		}
	}
}
