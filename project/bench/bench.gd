extends SceneTree
## Side-by-side benchmark, one process, one loop: Godot's own WebSocketPeer
## pair (TCPServer + accept_stream) against GoWebSocketClient/Server.
##   godot --headless --path project --script res://bench/bench.gd
## For each size: one-way stream client -> server with at most WINDOW
## messages in flight, for SECONDS; then a ping-pong round trip (ROUNDS rounds
## of ROUND_TRIPS, the two pairs taking turns; the median round is printed,
## since this machine's latency drifts from second to second).
## "main µs/msg" is the time spent in loop iterations that moved data,
## divided by messages delivered (the engine thread's cost per message).
## For counting system calls per message (README, Performance), environment
## variables narrow the run: GOWS_BENCH_PAIR=godot|go (one pair only),
## GOWS_BENCH_SIZES=64,1024 (stream sizes; "none" for no stream),
## GOWS_BENCH_ROUNDS and GOWS_BENCH_ROUND_TRIPS.

const WINDOW := 256
const SECONDS := 2.0
const BUFFER := 4 << 20
var SIZES := [64, 1024, 16384]
var ROUND_TRIPS := 1000
var ROUNDS := 9
var PAIR := ""


class Pair:
	var name := ""
	func poll() -> void: pass
	func send(_data: PackedByteArray) -> int: return OK
	func recv_count() -> int: return 0
	func recv() -> PackedByteArray: return PackedByteArray()
	func echo_send(_data: PackedByteArray) -> int: return OK
	func echo_count() -> int: return 0
	func echo_recv() -> PackedByteArray: return PackedByteArray()
	func close() -> void: pass


class GodotPair extends Pair:
	var tcp := TCPServer.new()
	var client := WebSocketPeer.new()
	var server := WebSocketPeer.new()
	var accepted := false

	func _init() -> void:
		name = "Godot WebSocketPeer"
		for p in [client, server]:
			p.inbound_buffer_size = BUFFER
			p.outbound_buffer_size = BUFFER
			p.max_queued_packets = 1 << 16
		tcp.listen(0, "127.0.0.1")
		client.connect_to_url("ws://127.0.0.1:%d/" % tcp.get_local_port())

	func ready() -> bool:
		if not accepted and tcp.is_connection_available():
			server.accept_stream(tcp.take_connection())
			accepted = true
		poll()
		return accepted and client.get_ready_state() == WebSocketPeer.STATE_OPEN and server.get_ready_state() == WebSocketPeer.STATE_OPEN

	func poll() -> void:
		client.poll()
		if accepted:
			server.poll()

	func send(data: PackedByteArray) -> int: return client.put_packet(data)
	func recv_count() -> int: return server.get_available_packet_count()
	func recv() -> PackedByteArray: return server.get_packet()
	func echo_send(data: PackedByteArray) -> int: return server.put_packet(data)
	func echo_count() -> int: return client.get_available_packet_count()
	func echo_recv() -> PackedByteArray: return client.get_packet()

	func close() -> void:
		client.close()
		server.close()
		for i in 50:
			poll()
			OS.delay_usec(1000)
		tcp.stop()


class GoPair extends Pair:
	var server := GoWebSocketServer.new()
	var client := GoWebSocketClient.new()
	var cp: GoWebSocketPeer
	var sp: GoWebSocketPeer

	func _init() -> void:
		name = "GoWebSocket"
		for o in [server, client]:
			o.inbound_buffer_size = BUFFER
			o.outbound_buffer_size = BUFFER
			o.max_queued_packets = 1 << 16
		server.listen(0, PackedStringArray(), "127.0.0.1")
		client.connect_to_url("ws://127.0.0.1:%d/" % server.get_listen_port())

	func ready() -> bool:
		poll()
		if client.get_connection_status() == 2 and server.get_peer_ids().size() == 1:
			cp = client.get_peer(1)
			sp = server.get_peer(server.get_peer_ids()[0])
			return true
		return false

	func poll() -> void:
		client.poll()
		server.poll()

	func send(data: PackedByteArray) -> int: return cp.put_packet(data)
	func recv_count() -> int: return sp.get_available_packet_count()
	func recv() -> PackedByteArray: return sp.get_packet()
	func echo_send(data: PackedByteArray) -> int: return sp.put_packet(data)
	func echo_count() -> int: return cp.get_available_packet_count()
	func echo_recv() -> PackedByteArray: return cp.get_packet()

	func close() -> void:
		client.disconnect_from_host()
		for i in 50:
			poll()
			OS.delay_usec(1000)
		server.stop()


func open(p) -> bool:
	var deadline := Time.get_ticks_msec() + 5000
	while not p.ready():
		if Time.get_ticks_msec() > deadline:
			return false
		OS.delay_usec(100)
	return true


## One-way stream; returns [msg/s, main µs per msg, messages].
func stream(p, size: int) -> Array:
	var data := PackedByteArray()
	data.resize(size)
	data.fill(7)
	var sent := 0
	var got := 0
	var busy_us := 0
	var start := Time.get_ticks_usec()
	var stop_at := start + int(SECONDS * 1e6)
	while true:
		var t0 := Time.get_ticks_usec()
		if t0 >= stop_at:
			break
		p.poll()
		var moved := false
		while sent - got < WINDOW and p.send(data) == OK:
			sent += 1
			moved = true
		while p.recv_count() > 0:
			p.recv()
			got += 1
			moved = true
		if moved:
			busy_us += Time.get_ticks_usec() - t0
	var elapsed := (Time.get_ticks_usec() - start) / 1e6
	# Drain what is still in flight so the next run starts clean.
	var deadline := Time.get_ticks_msec() + 5000
	while got < sent and Time.get_ticks_msec() < deadline:
		p.poll()
		while p.recv_count() > 0:
			p.recv()
			got += 1
	if got < sent:
		fail("%s, %d B: %d of %d messages arrived" % [p.name, size, got, sent])
	return [got / elapsed, busy_us / max(1.0, float(got)), got]


func fail(what: String) -> void:
	print("FAIL: " + what)
	quit(1)


## Ping-pong of one 64-byte message; returns mean round trip in µs.
func round_trip(p) -> float:
	var data := PackedByteArray()
	data.resize(64)
	var start := Time.get_ticks_usec()
	var give_up := 0
	for i in ROUND_TRIPS:
		give_up = Time.get_ticks_msec() + 10000 # per message: strace slows them a lot
		if p.send(data) != OK:
			fail("%s: send failed in round trip %d" % [p.name, i])
			return 0.0
		while p.recv_count() == 0:
			p.poll()
			if Time.get_ticks_msec() > give_up:
				fail("%s: round trip %d never arrived" % [p.name, i])
				return 0.0
		p.echo_send(p.recv())
		while p.echo_count() == 0:
			p.poll()
			if Time.get_ticks_msec() > give_up:
				fail("%s: echo %d never arrived" % [p.name, i])
				return 0.0
		p.echo_recv()
	return (Time.get_ticks_usec() - start) / float(ROUND_TRIPS)


## Reads the GOWS_BENCH_* variables; false (after a FAIL line) for a bad value.
func configure() -> bool:
	PAIR = OS.get_environment("GOWS_BENCH_PAIR")
	if PAIR not in ["", "godot", "go"]:
		fail("GOWS_BENCH_PAIR must be godot or go, not %s" % PAIR)
		return false
	var sizes := OS.get_environment("GOWS_BENCH_SIZES")
	if sizes == "none":
		SIZES = []
	elif sizes != "":
		SIZES = []
		for s in sizes.split(","):
			if not s.is_valid_int() or s.to_int() < 0:
				fail("GOWS_BENCH_SIZES: %s is not a size in bytes" % s)
				return false
			SIZES.append(s.to_int())
	for v in [["GOWS_BENCH_ROUNDS", 1], ["GOWS_BENCH_ROUND_TRIPS", 0]]:
		var e := OS.get_environment(v[0])
		if e == "":
			continue
		if not e.is_valid_int() or e.to_int() < v[1]:
			fail("%s must be an integer >= %d, not %s" % [v[0], v[1], e])
			return false
		if v[0] == "GOWS_BENCH_ROUNDS":
			ROUNDS = e.to_int()
		else:
			ROUND_TRIPS = e.to_int()
	return true


func _initialize() -> void:
	if not configure():
		return
	print("GoWebSocket benchmark: %s on %s, %d-message window, %.0f s per size" % [Engine.get_version_info()["string"], OS.get_name(), WINDOW, SECONDS])
	var godot: Pair = GodotPair.new() if PAIR != "go" else null
	var go: Pair = GoPair.new() if PAIR != "godot" else null
	if godot and not open(godot) or go and not open(go):
		print("FAIL: could not open the pairs")
		quit(1)
		return
	if PAIR != "":
		one_pair(godot if godot else go)
		return
	print("%-8s %16s %16s %7s %14s %14s" % ["size", "Godot msg/s", "Go msg/s", "ratio", "Godot µs/msg", "Go µs/msg"])
	for size in SIZES:
		var g: Array = stream(godot, size)
		var o: Array = stream(go, size)
		print("%-8d %16.0f %16.0f %6.2fx %14.2f %14.2f" % [size, g[0], o[0], o[0] / g[0], g[1], o[1]])
	var rgs: Array[float] = []
	var ros: Array[float] = []
	for r in ROUNDS:
		rgs.append(round_trip(godot))
		ros.append(round_trip(go))
	rgs.sort()
	ros.sort()
	var rg := rgs[ROUNDS / 2]
	var ro := ros[ROUNDS / 2]
	print("round trip 64 B (median of %d rounds): Godot %.1f µs, Go %.1f µs (ratio %.2fx)" % [ROUNDS, rg, ro, ro / rg])
	godot.close()
	go.close()
	quit(0)


## GOWS_BENCH_PAIR: one pair alone, with the number of messages it moved
## (for dividing a system-call count by).
func one_pair(p: Pair) -> void:
	var moved := 0
	for size in SIZES:
		var r: Array = stream(p, size)
		moved += r[2]
		print("%s %d B: %.0f msg/s" % [p.name, size, r[0]])
	var rts: Array[float] = []
	for r in ROUNDS:
		rts.append(round_trip(p))
	moved += 2 * ROUNDS * ROUND_TRIPS
	rts.sort()
	print("%s round trip 64 B (median of %d rounds of %d): %.1f µs" % [p.name, ROUNDS, ROUND_TRIPS, rts[ROUNDS / 2]])
	print("%s messages moved: %d" % [p.name, moved])
	p.close()
	quit(0)
