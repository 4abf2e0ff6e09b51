extends SceneTree
## The cost of one call from GDScript into the library, next to one into
## Godot's own WebSocketPeer (README, Performance, Windows under wine):
##   godot --headless --path project --script res://bench/call_cost.gd
## N (environment) calls of each, twice.

func _initialize() -> void:
	var cl := GoWebSocketClient.new()
	var ws := WebSocketPeer.new()
	var e := OS.get_environment("N")
	if e != "" and (not e.is_valid_int() or e.to_int() < 1):
		print("FAIL: N must be a positive integer, not %s" % e)
		quit(1)
		return
	var n := e.to_int() if e != "" else 20000
	for k in 2:
		var t0 := Time.get_ticks_usec()
		for i in n:
			cl.get_connection_status()
		var t1 := Time.get_ticks_usec()
		for i in n:
			cl.poll()
		var t2 := Time.get_ticks_usec()
		for i in n:
			ws.get_ready_state()
		var t3 := Time.get_ticks_usec()
		for i in n:
			ws.poll()
		var t4 := Time.get_ticks_usec()
		print("µs per call: ours get_connection_status %.2f, poll %.2f; Godot's get_ready_state %.2f, poll %.2f" % [(t1 - t0) / float(n), (t2 - t1) / float(n), (t3 - t2) / float(n), (t4 - t3) / float(n)])
	quit(0)
