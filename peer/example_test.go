package peer_test

import (
	"fmt"
	"log"
	"time"

	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// An echo server and a client in one loop, as a game would drive them: Poll
// both once per frame and act on the events.
func Example() {
	srv := peer.NewServer(peer.Options{Protocols: []string{"echo"}})
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	cl := peer.NewClient(peer.Options{Protocols: []string{"echo"}})
	defer cl.Shutdown()
	if err := cl.Connect(fmt.Sprintf("ws://127.0.0.1:%d/", srv.Port())); err != nil {
		log.Fatal(err)
	}

	var events []peer.Event
	for done := false; !done; time.Sleep(time.Millisecond) { // one frame
		events = srv.Poll(events[:0])
		for _, ev := range events {
			if ev.Kind == peer.EventMessage {
				m, _ := ev.Conn.Read()
				_ = ev.Conn.Send(m.Data, peer.WriteText) // echo it
			}
		}
		events = cl.Poll(events[:0])
		for _, ev := range events {
			switch ev.Kind {
			case peer.EventConnected:
				fmt.Println("connected, protocol", ev.Protocol)
				_ = ev.Conn.Send([]byte("hello"), peer.WriteText)
			case peer.EventMessage:
				m, _ := ev.Conn.Read()
				fmt.Printf("received %q\n", m.Data)
				_ = ev.Conn.Close(1000, "done")
			case peer.EventConnectError, peer.EventDisconnected:
				fmt.Println("closed cleanly:", ev.Clean, "code", ev.Code)
				done = true
			}
		}
	}
	// Output:
	// connected, protocol echo
	// received "hello"
	// closed cleanly: true code 1000
}
