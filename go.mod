module github.com/gowebsocket/godot-gowebsocket

go 1.25

require (
	github.com/godot-go/godot-go v0.3.21 // indirect
	github.com/gorilla/websocket v1.5.3
	go.uber.org/goleak v1.3.0
)
