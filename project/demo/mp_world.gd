extends Node2D
## One side of the multiplayer demo (server or client): a Players node that a
## MultiplayerSpawner fills, and the input RPC.

const SPEED := 120.0

var players := Node2D.new()
var spawner := MultiplayerSpawner.new()
var _t := 0.0
var _start := {}  # player name -> position when first seen (clients)
var _reported := {}


func _ready() -> void:
	players.name = "Players"
	add_child(players)
	spawner.name = "Spawner"
	spawner.spawn_path = NodePath("../Players")
	spawner.spawn_function = make_player
	add_child(spawner)
	var label := Label.new()
	label.text = String(get_parent().name)
	label.position = Vector2(0, -18)
	add_child(label)
	if multiplayer.is_server():
		multiplayer.peer_connected.connect(_on_peer_connected)
		multiplayer.peer_disconnected.connect(_on_peer_disconnected)
	else:
		multiplayer.connected_to_server.connect(func(): print("%s: connected as peer %d" % [get_parent().name, multiplayer.get_unique_id()]))


func _on_peer_connected(id: int) -> void:
	spawner.spawn(id)


func _on_peer_disconnected(id: int) -> void:
	var p := players.get_node_or_null(str(id))
	if p:
		p.queue_free()


## Spawned on the server and, through the MultiplayerSpawner, on every client
## (the engine tests spawn it too).
static func make_player(id: int) -> Node:
	var p := Node2D.new()
	p.name = str(id)
	p.position = Vector2(40 + 60 * (id % 4), 150)
	var body := ColorRect.new()
	body.size = Vector2(20, 20)
	body.color = Color.from_hsv(fmod(id * 0.37, 1.0), 0.8, 0.9)
	p.add_child(body)
	var sync := MultiplayerSynchronizer.new()
	sync.name = "Sync"
	var cfg := SceneReplicationConfig.new()
	cfg.add_property(NodePath(".:position"))
	cfg.property_set_spawn(NodePath(".:position"), true)
	cfg.property_set_replication_mode(NodePath(".:position"), SceneReplicationConfig.REPLICATION_MODE_ALWAYS)
	sync.replication_config = cfg
	p.add_child(sync)
	return p


## A client's input; the server moves that client's player.
@rpc("any_peer", "call_remote", "unreliable_ordered")
func move(dir: Vector2) -> void:
	if not multiplayer.is_server():
		return
	var p: Node2D = players.get_node_or_null(str(multiplayer.get_remote_sender_id()))
	if p:
		p.position = (p.position + dir.limit_length(1.0) * SPEED * 0.016).clamp(Vector2.ZERO, Vector2(300, 300))


func _process(delta: float) -> void:
	var mp := multiplayer
	if mp.is_server() or mp.multiplayer_peer == null or mp.multiplayer_peer.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED:
		return
	_t += delta
	var me := mp.get_unique_id()
	move.rpc_id(1, Vector2(cos(_t * 2.0 + me), sin(_t * 2.0 + me)))
	for p in players.get_children():
		if p.name == str(me) or _reported.has(p.name):
			continue
		if not _start.has(p.name):
			_start[p.name] = p.position
		elif p.position.distance_to(_start[p.name]) > 5.0:
			_reported[p.name] = true
			print("%s (peer %d) sees peer %s moving" % [get_parent().name, me, p.name])
