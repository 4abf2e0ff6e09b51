package interop

import (
	"net"
	"strconv"
	"testing"
)

// TestTheirClientOurServer: each implementation's client against our server:
// the echo matrix, then the peer closes (4001); a second client, which we
// close (4002).
func TestTheirClientOurServer(t *testing.T) {
	for _, im := range implementations() {
		t.Run(im.name, func(t *testing.T) {
			sd := ourServer(t, ourOpts)
			im.client(t, nil, sd.url())
			s := sd.next()
			exercise(s, im.caps)
			peerCloses(s, im.caps)
			p := im.client(t, nil, sd.url())
			weClose(sd.next(), p)
			if ids := sd.srv.PeerIDs(nil); len(ids) != 0 {
				t.Fatalf("peers %v still listed after both closed", ids)
			}
		})
	}
}

// TestOurClientTheirServer: our client against each implementation's server,
// the same way round.
func TestOurClientTheirServer(t *testing.T) {
	for _, im := range implementations() {
		t.Run(im.name, func(t *testing.T) {
			p, port := im.server(t, nil)
			url := "ws://127.0.0.1:" + strconv.Itoa(port) + "/"
			s := ourClient(t, ourOpts, url)
			exercise(s, im.caps)
			peerCloses(s, im.caps)
			weClose(ourClient(t, ourOpts, url), p)
		})
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
