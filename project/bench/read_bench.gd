extends SceneTree
## Main-thread cost per received message on a GoWebSocketServer, without
## the network's noise: clients in this process send --n 32-byte messages,
## the server polls only after every one of them waits in its queue, and the
## time of that poll() and of reading them is measured, for three readers:
##   signal  a data_received handler: peers[id].get_packet() (inside poll())
##   bulk    get_packets() after poll(), the entries' fields read
##   loop    every peer's get_packet() after poll()
## The best of --rounds rounds each. Prints one "READ {json}" line.
##   godot --headless --path project --script res://bench/read_bench.gd -- --n=5000 --clients=50

var opt := {"n": 5000, "clients": 50, "rounds": 7}
var server: GoWebSocketServer
var clients: Array[GoWebSocketClient] = []
var peers := {}
var got := 0


func _initialize() -> void:
	for a in OS.get_cmdline_user_args():
		var kv := a.trim_prefix("--").split("=", true, 1)
		if kv.size() == 2 and opt.has(kv[0]):
			opt[kv[0]] = kv[1].to_int()
	server = GoWebSocketServer.new()
	server.max_queued_packets = 1 << 20
	server.inbound_buffer_size = 1 << 28
	server.client_connected.connect(func(id: int, _p: String): peers[id] = server.get_peer(id))
	server.client_disconnected.connect(func(id: int, _c: bool): peers.erase(id))
	if server.listen(0, PackedStringArray(), "127.0.0.1") != OK:
		print("FAIL: listen")
		quit(1)
		return
	for i in opt["clients"]:
		var c := GoWebSocketClient.new()
		c.connect_to_url("ws://127.0.0.1:%d/" % server.get_listen_port())
		clients.append(c)
	if not pump(func(): return peers.size() == opt["clients"] and clients.all(func(c): return c.get_connection_status() == 2)):
		print("FAIL: connect")
		quit(1)
		return
	var best := {"signal": INF, "bulk_poll": INF, "bulk_read": INF, "loop_poll": INF, "loop_read": INF}
	for r in opt["rounds"]:
		for mode in ["signal", "bulk", "loop"]:
			var t := measure(mode)
			if mode == "signal":
				best["signal"] = min(best["signal"], t[0])
			else:
				best[mode + "_poll"] = min(best[mode + "_poll"], t[0])
				best[mode + "_read"] = min(best[mode + "_read"], t[1])
	var n: float = opt["n"]
	var out := {"n": opt["n"], "clients": opt["clients"],
		"signal_us": snappedf(best["signal"] / n, 0.001),
		"bulk_us": snappedf((best["bulk_poll"] + best["bulk_read"]) / n, 0.001),
		"bulk_poll_us": snappedf(best["bulk_poll"] / n, 0.001), "bulk_read_us": snappedf(best["bulk_read"] / n, 0.001),
		"loop_us": snappedf((best["loop_poll"] + best["loop_read"]) / n, 0.001),
		"loop_read_us": snappedf(best["loop_read"] / n, 0.001)}
	print("READ " + JSON.stringify(out))
	for c in clients:
		c.disconnect_from_host()
	pump(func(): return peers.is_empty(), 3000)
	server.stop()
	quit(0)


func pump(cond: Callable, timeout_ms := 10000) -> bool:
	var deadline := Time.get_ticks_msec() + timeout_ms
	while not cond.call():
		server.poll()
		for c in clients:
			c.poll()
		if Time.get_ticks_msec() > deadline:
			return false
		OS.delay_usec(100)
	return true


func _on_data(id: int) -> void:
	var p: GoWebSocketPeer = peers.get(id)
	if p != null:
		p.get_packet()
		got += 1


## Queues opt.n messages at the server without polling it, then times its
## poll() and the read; returns [poll µs, read µs].
func measure(mode: String) -> Array:
	var msg := PackedByteArray()
	msg.resize(32)
	var n: int = opt["n"]
	for i in n:
		clients[i % clients.size()].get_peer(1).put_packet(msg)
	# Let the clients write and the server's readers queue everything.
	var deadline := Time.get_ticks_msec() + 10000
	while server.get_stats()["queued_in"] < n * msg.size() and Time.get_ticks_msec() < deadline:
		for c in clients:
			c.poll()
		OS.delay_usec(1000)
	if mode == "signal":
		server.data_received.connect(_on_data)
	got = 0
	var t0 := Time.get_ticks_usec()
	server.poll()
	var t1 := Time.get_ticks_usec()
	if mode == "bulk":
		for e: Array in server.get_packets():
			var _id: int = e[0]
			var _pk: PackedByteArray = e[1]
			got += 1
	elif mode == "loop":
		for p: GoWebSocketPeer in peers.values():
			while p.get_available_packet_count() > 0:
				p.get_packet()
				got += 1
	var t2 := Time.get_ticks_usec()
	if mode == "signal":
		server.data_received.disconnect(_on_data)
	if got != n:
		print("FAIL: %s read %d of %d (queued_in %d)" % [mode, got, n, server.get_stats()["queued_in"]])
	return [t1 - t0, t2 - t1]
