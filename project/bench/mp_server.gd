extends SceneTree
## Multiplayer benchmark, server side: a dedicated server on SceneMultiplayer
## at 60 fps with either Godot's own WebSocketMultiplayerPeer or ours.
##   godot --headless --path project --script res://bench/mp_server.gd -- --kind=ours|godot --port=N --clients=200 --seconds=20
## The clients (mp_clients.gd, another process) send an input RPC at 10 Hz
## each; the server broadcasts a STATE_BYTES state RPC at 20 Hz. Measured once
## every client is in, after a 2 s warm-up: the main thread's time per frame
## spent in multiplayer.poll() and the broadcast (the whole networking cost).

const Game = preload("res://bench/mp_node.gd")
const STATE_BYTES := 256
const WARMUP_MS := 2000

var kind := "ours"
var port := 9099
var clients := 200
var seconds := 20.0
var peer: MultiplayerPeer
var game: Node
var state := PackedByteArray()
var samples := PackedFloat64Array()
var all_in_at := -1
var last_state := 0
var started := false
var deadline := 0


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		var kv := arg.trim_prefix("--").split("=")
		match kv[0]:
			"kind": kind = kv[1]
			"port": port = int(kv[1])
			"clients": clients = int(kv[1])
			"seconds": seconds = float(kv[1])
	Engine.max_fps = 60
	multiplayer_poll = false
	state.resize(STATE_BYTES)
	deadline = Time.get_ticks_msec() + 120000


func _process(_delta: float) -> bool:
	if not started:
		started = true
		if kind == "godot":
			var p := WebSocketMultiplayerPeer.new()
			p.inbound_buffer_size = 1 << 20
			p.outbound_buffer_size = 1 << 20
			p.handshake_timeout = 30.0
			peer = p
		else:
			var p := GoWebSocketMultiplayerPeer.new()
			p.handshake_timeout = 30.0
			peer = p
		var err: int = peer.create_server(port, "127.0.0.1")
		if err != OK:
			print("RESULT %s error create_server %s" % [kind, error_string(err)])
			quit(1)
			return true
		game = Game.new()
		game.name = "Game"
		root.add_child(game)
		get_multiplayer().multiplayer_peer = peer
		return false
	var mp := get_multiplayer()
	var t := Time.get_ticks_usec()
	mp.poll()
	var now := Time.get_ticks_msec()
	if now - last_state >= 50 and mp.get_peers().size() > 0:
		last_state = now
		game.state.rpc(state)
	var dt := Time.get_ticks_usec() - t
	if all_in_at < 0 and mp.get_peers().size() >= clients:
		all_in_at = now
		print("%s: %d clients in" % [kind, clients])
	if all_in_at >= 0 and now - all_in_at > WARMUP_MS:
		samples.append(dt)
		if now - all_in_at > WARMUP_MS + seconds * 1000:
			_report(mp.get_peers().size())
			return true
	if now > deadline:
		print("RESULT %s error only %d of %d clients connected" % [kind, mp.get_peers().size(), clients])
		quit(1)
		return true
	return false


func _report(peers: int) -> void:
	var sorted := samples.duplicate()
	sorted.sort()
	var total := 0.0
	for s in sorted:
		total += s
	var mean := total / sorted.size() / 1000.0
	var p99: float = sorted[int(sorted.size() * 0.99)] / 1000.0
	print("RESULT %s frames %d peers %d inputs %d mean_ms %.3f p99_ms %.3f max_ms %.3f" % [kind, sorted.size(), peers, game.inputs, mean, p99, sorted[-1] / 1000.0])
	get_multiplayer().multiplayer_peer = null
	peer.close()
	game.free()
	quit(0)
