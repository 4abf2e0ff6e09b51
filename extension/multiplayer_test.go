package main

import "testing"

func TestHelloRoundTrip(t *testing.T) {
	for _, id := range []int32{2, 3, 255, 256, 1 << 24, 1<<31 - 1} {
		b := helloMessage(id)
		got, ok := parseHello(b[:])
		if !ok || got != id {
			t.Errorf("parseHello(helloMessage(%d)) = %d, %v", id, got, ok)
		}
	}
	// Godot's client reads the id as a little-endian int32: 2 is 02 00 00 00.
	if b := helloMessage(2); b != [4]byte{2, 0, 0, 0} {
		t.Errorf("helloMessage(2) = % x", b)
	}
}

func TestHelloRejectsInvalid(t *testing.T) {
	for _, data := range [][]byte{nil, {}, {2, 0, 0}, {2, 0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 0x80}} {
		if id, ok := parseHello(data); ok {
			t.Errorf("parseHello(% x) = %d, accepted", data, id)
		}
	}
}

// The multiplayer server's infrastructure calls take multiplayer ids: a
// client's id is its server id + 1 (mpID); the server's own id 1, negative
// ids and ids beyond int32 map to 0, which no held handshake has.
func TestMultiplayerServerID(t *testing.T) {
	var m wsMultiplayer
	for _, id := range []int32{1, 2, 41, 1<<31 - 2} {
		if got := m.serverID(int64(mpID(id))); got != id {
			t.Errorf("serverID(mpID(%d)) = %d", id, got)
		}
	}
	for _, id := range []int64{1, 0, -2, 1 << 31, 1<<32 + 2} {
		if got := m.serverID(id); got != 0 {
			t.Errorf("serverID(%d) = %d, want 0", id, got)
		}
	}
	if srv, why := m.infraServer(); srv != nil || why == "" {
		t.Errorf("infraServer() of an inactive peer = %v, %q", srv, why)
	}
}
