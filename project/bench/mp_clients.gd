extends SceneTree
## Multiplayer benchmark, client side: CLIENTS clients (Godot's own
## WebSocketMultiplayerPeer for both server kinds, so this side is the same),
## each a branch /root/C<i> with its own SceneMultiplayer, sending an input RPC
## at 10 Hz at 60 fps.
##   godot --headless --path project --script res://bench/mp_clients.gd -- --port=N --clients=200 --seconds=40

const Game = preload("res://bench/mp_node.gd")

var port := 9099
var clients := 200
var seconds := 40.0
var games: Array[Node] = []
var frame := 0
var end := 0


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		var kv := arg.trim_prefix("--").split("=")
		match kv[0]:
			"port": port = int(kv[1])
			"clients": clients = int(kv[1])
			"seconds": seconds = float(kv[1])
	Engine.max_fps = 60
	end = Time.get_ticks_msec() + int(seconds * 1000)


func _process(_delta: float) -> bool:
	frame += 1
	# Five new clients a frame.
	for k in 5:
		if games.size() >= clients:
			break
		var i := games.size()
		var branch := Node.new()
		branch.name = "C%d" % i
		root.add_child(branch)
		var api := SceneMultiplayer.new()
		set_multiplayer(api, branch.get_path())
		var p := WebSocketMultiplayerPeer.new()
		p.handshake_timeout = 30.0
		p.inbound_buffer_size = 1 << 20
		p.create_client("ws://127.0.0.1:%d/" % port)
		api.multiplayer_peer = p
		var g := Game.new()
		g.name = "Game"
		branch.add_child(g)
		games.append(g)
	for i in games.size():
		if (i + frame) % 6 == 0:
			var g := games[i]
			if g.multiplayer.multiplayer_peer.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED:
				g.input.rpc_id(1, Vector2(randf(), randf()), frame)
	if Time.get_ticks_msec() > end:
		var states := 0
		for g in games:
			states += g.states
		print("clients: %d states received" % states)
		return true
	return false
