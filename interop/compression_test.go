package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCompression: permessage-deflate with ws and websockets, both roles,
// every on/off combination (negotiated only when both sides want it, checked
// from the peer's side), the whole echo matrix on each, and the bytes on the
// wire for a repetitive text workload with and without it. Godot 3.2 has no
// permessage-deflate; Chromium's is covered in TestChromium.
//
// The figures are logged (go test -v -run TestCompression ./interop/) as
// lines starting with "COMPRESSION FIGURES".
func TestCompression(t *testing.T) {
	var figures []string
	for _, im := range []impl{nodeImpl, pythonImpl} {
		t.Run(im.name, func(t *testing.T) {
			theirDefault := []string{"DEFLATE=1"}
			if im.name == pythonImpl.name {
				theirDefault = nil // websockets offers and accepts it by default
			}
			cases := []struct {
				name  string
				ours  bool
				env   []string
				want  bool
				shown bool // measure the workload
			}{
				{"both-off", false, []string{"DEFLATE=0"}, false, true},
				{"both-on", true, []string{"DEFLATE=1"}, true, true},
				{"ours-only", true, []string{"DEFLATE=0"}, false, false},
				{"theirs-only", false, theirDefault, false, false},
			}
			var plain, deflate [2]wireFigure
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					opts := ourOpts
					opts.Compression = tc.ours
					c := im.caps
					c.checkExt, c.deflate = true, tc.want

					sd := ourServer(t, opts)
					im.client(t, tc.env, sd.url())
					s := sd.next()
					exercise(s, c)
					peerCloses(s, c)

					p, port := im.server(t, tc.env)
					url := fmt.Sprintf("ws://127.0.0.1:%d/", port)
					s = ourClient(t, opts, url)
					exercise(s, c)
					weClose(s, p)

					if !tc.shown {
						return
					}
					// The figures come from fresh connections without
					// heartbeats, so only the workload is on the wire.
					opts.HeartbeatInterval = 0
					im.client(t, tc.env, sd.url())
					srvFig := workload(sd.next())
					cliFig := workload(ourClient(t, opts, url))
					for i, f := range []wireFigure{srvFig, cliFig} {
						if tc.want {
							deflate[i] = f
						} else {
							plain[i] = f
						}
						if tc.want && (f.wireOut*3 > f.payloadOut || f.wireIn*3 > f.payloadIn) {
							t.Errorf("compressed stream is not a third of the payload: %+v", f)
						}
						if !tc.want && (f.wireOut < f.payloadOut || f.wireIn < f.payloadIn) {
							t.Errorf("plain stream is smaller than its payload: %+v", f)
						}
					}
				})
			}
			if t.Failed() {
				return
			}
			v, _ := versions.Load(im.tool)
			for i, role := range []string{"our server", "our client"} {
				p, d := plain[i], deflate[i]
				line := fmt.Sprintf("COMPRESSION FIGURES: %s with %s %v: %s, %d payload bytes each way; "+
					"sent on the wire %d plain, %d with permessage-deflate (%.1f%%); received %d plain, %d compressed by the peer (%.1f%%)",
					role, im.name, v, workloadDesc, p.payloadOut,
					p.wireOut, d.wireOut, 100*float64(d.wireOut)/float64(p.wireOut),
					p.wireIn, d.wireIn, 100*float64(d.wireIn)/float64(p.wireIn))
				t.Log(line)
				figures = append(figures, line)
			}
		})
	}
	if len(figures) > 0 {
		t.Logf("all compression figures:\n%s", strings.Join(figures, "\n"))
	}
}

type wireFigure struct{ payloadOut, wireOut, payloadIn, wireIn int64 }

const (
	workloadCount = 200
	workloadDesc  = "200 distinct JSON game-state texts of about 1.5 KB, echoed"
)

// workloadMessage is a game-state snapshot: repetitive keys and names,
// changing numbers.
func workloadMessage(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"tick":%d,"time":%.3f,"entities":[`, 1000+n, float64(n)/60)
	for i := 0; i < 12; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"kind":"player","name":"player_%02d","x":%.2f,"y":%.2f,"hp":%d,"state":"running","items":["sword","shield"]}`,
			i, i, float64(n*3+i*17)/7, float64(n*5+i*11)/3, 100-(n+i)%37)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// workload sends the messages, reads every echo back in order, and returns
// the byte counts of that exchange, then closes the connection.
func workload(s *session) wireFigure {
	s.t.Helper()
	before := s.conn.Stats()
	for i := 0; i < workloadCount; i++ {
		s.send(workloadMessage(i), true)
	}
	for i := 0; i < workloadCount; i++ {
		s.expect("workload echo", true, workloadMessage(i))
	}
	// The last echo is read, but give the stats a moment: they count
	// what the socket carried.
	time.Sleep(10 * time.Millisecond)
	after := s.conn.Stats()
	if err := s.conn.Close(1000, ""); err != nil {
		s.t.Fatal(err)
	}
	s.disconnected()
	return wireFigure{
		payloadOut: after.BytesOut - before.BytesOut, wireOut: after.WireBytesOut - before.WireBytesOut,
		payloadIn: after.BytesIn - before.BytesIn, wireIn: after.WireBytesIn - before.WireBytesIn,
	}
}
