extends Node2D
## Multiplayer demo: a server and two clients in one window, each its own
## branch of the scene tree with its own SceneMultiplayer over
## GoWebSocketMultiplayerPeer (in a real game they are separate processes).
## The server spawns a player for every client that joins (MultiplayerSpawner);
## clients send their input by RPC; the server moves the players and
## MultiplayerSynchronizer shows every player to every client.
##
## Headless check: `godot --headless --path project res://demo/multiplayer.tscn -- --autoquit=3`
## prints "<client> sees peer <id> moving" for each client that saw the other
## client's player move, then quits.

const World = preload("res://demo/mp_world.gd")

var _quit_at := -1.0
var _branches: Array = []  # [path, SceneMultiplayer]


func _ready() -> void:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--autoquit="):
			_quit_at = float(arg.get_slice("=", 1))
	var server := GoWebSocketMultiplayerPeer.new()
	var err := server.create_server(0, "127.0.0.1")
	if err != OK:
		print("server: create_server failed (%s)" % error_string(err))
		return
	print("server: listening on port %d" % server.get_listen_port())
	_add_branch("Server", server, Vector2(20, 20))
	for i in 2:
		var client := GoWebSocketMultiplayerPeer.new()
		client.create_client("ws://127.0.0.1:%d/" % server.get_listen_port())
		_add_branch("Client%d" % (i + 1), client, Vector2(20 + 340 * (i + 1), 20))


## A branch /root/Multiplayer/<name> whose nodes use their own SceneMultiplayer.
func _add_branch(branch_name: String, peer: MultiplayerPeer, offset: Vector2) -> void:
	var branch := Node2D.new()
	branch.name = branch_name
	branch.position = offset
	add_child(branch)
	var api := SceneMultiplayer.new()
	get_tree().set_multiplayer(api, branch.get_path())
	api.multiplayer_peer = peer
	_branches.append([branch.get_path(), api])
	var world: Node2D = World.new()
	world.name = "World"
	branch.add_child(world)


func _process(_delta: float) -> void:
	if _quit_at >= 0 and Time.get_ticks_msec() / 1000.0 > _quit_at:
		_quit_at = -1
		get_tree().quit()


func _exit_tree() -> void:
	# Clients first: the server's close() waits (briefly) for their replies.
	_branches.reverse()
	for b in _branches:
		var api: SceneMultiplayer = b[1]
		if api.multiplayer_peer:
			api.multiplayer_peer.close()
			api.multiplayer_peer = null
		get_tree().set_multiplayer(null, b[0])
