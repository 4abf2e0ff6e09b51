// Package peer is the pure-Go WebSocket engine behind GoWebSocket for Godot.
//
// Sockets live in goroutines (one reader and one writer per connection, on
// gorilla/websocket). Everything a caller sees happens on one caller thread
// (Godot's main thread) through Poll: Poll drains the events the goroutines
// queued since the last call, makes received messages readable, and returns
// the events in the order they happened. Poll costs O(events waiting), never
// O(connections).
//
// Threading: the methods documented as "caller thread" must all be called from
// one goroutine at a time (they are not safe against each other); they are
// safe against the package's own goroutines. Methods marked "any goroutine"
// may be called from anywhere.
//
// No cgo and no Godot in this package.
package peer
