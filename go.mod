module github.com/gowebsocket/godot-gowebsocket

go 1.25.0

require (
	github.com/godot-go/godot-go v0.3.21
	github.com/gorilla/websocket v1.5.3
	go.uber.org/goleak v1.3.0
)

require (
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.6.0 // indirect
	go.uber.org/zap v1.16.0 // indirect
)
