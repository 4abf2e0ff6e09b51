package peer

import (
	"bytes"
	"testing"
)

func TestEchoBasic(t *testing.T) {
	r := newRig(t, Options{}, Options{})
	if err := r.cc.Send([]byte("hello"), WriteText); err != nil {
		t.Fatal(err)
	}
	var got Message
	r.until("server message", func() bool {
		m, ok := r.sc.Read()
		got = m
		return ok
	})
	if !got.Text || !bytes.Equal(got.Data, []byte("hello")) {
		t.Fatalf("got %+v", got)
	}
}
