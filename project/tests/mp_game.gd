extends Node
## The node the multiplayer tests call RPCs on: one per scene-tree branch
## (server, clients), each at <branch>/Game. Every call is recorded with the
## sender multiplayer.get_remote_sender_id() reported.

var calls: Array = []  # [method, sender, arg]
var counts: PackedInt32Array = []


@rpc("any_peer", "call_remote", "reliable")
func hello(text: String) -> void:
	calls.append(["hello", multiplayer.get_remote_sender_id(), text])


@rpc("authority", "call_remote", "reliable")
func from_server(text: String) -> void:
	calls.append(["from_server", multiplayer.get_remote_sender_id(), text])


@rpc("any_peer", "call_remote", "reliable")
func count(i: int) -> void:
	counts.append(i)


@rpc("any_peer", "call_remote", "reliable")
func big(data: PackedByteArray) -> void:
	calls.append(["big", multiplayer.get_remote_sender_id(), [data.size(), hash(data)]])


@rpc("any_peer", "call_remote", "unreliable")
func unreliable(x: int) -> void:
	calls.append(["unreliable", multiplayer.get_remote_sender_id(), x])


func find(method: String) -> Array:
	return calls.filter(func(c): return c[0] == method)
