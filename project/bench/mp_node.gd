extends Node
## The node both sides of the multiplayer benchmark call RPCs on (/root/Game
## on the server, /root/C<i>/Game on the clients).

var inputs := 0
var states := 0


@rpc("any_peer", "call_remote", "unreliable_ordered")
func input(_move: Vector2, _seq: int) -> void:
	inputs += 1


@rpc("authority", "call_remote", "unreliable_ordered")
func state(_data: PackedByteArray) -> void:
	states += 1
