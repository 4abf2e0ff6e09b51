extends SceneTree
## Dedicated-server benchmark (`make bench-server` runs it through
## tools/bench_server.sh; one implementation and one scenario per process):
##   godot --headless --path project --script res://bench/server_bench.gd -- \
##     --impl=godot|ours|ours-signal|ours-loop|godot-mp|ours-mp --clients=500 --size=1024 --every=1 --seconds=10 \
##     --hz=10 --loadgen=/path/to/loadgen [--name=label]
## The engine runs a 60 fps loop: each frame poll(), read every input, and
## (every --every frames) send a --size byte state to every client. The
## clients are tools/loadgen (gorilla/websocket, a separate process this
## script starts), each sending a 32-byte input at --hz. --size=0 is the idle
## check: no state is sent, the loop only polls (the clients still send at
## --hz; --hz=0 for a silent hold).
## Measured over --seconds once every client is connected (or at the
## handshake deadline), then one second more: main-thread time of the frame's
## work (mean, p99, max; and the mean of its parts: poll, read, send; Godot's
## own server polls and reads in one loop, counted as read), frames per second, messages each way, process CPU
## (utime + stime from /proc) per message; and, as these hold up on a busy
## machine, the median frame's poll + read time and the main thread's CPU
## time per frame. Prints one "BENCH {json}" line.

const HANDSHAKE_DEADLINE := 15.0
const SETTLE := 1.0

var opt := {
	"impl": "ours", "clients": 100, "size": 1024, "every": 1, "seconds": 5.0,
	"hz": 10.0, "loadgen": "", "name": "", "out": "",
}
var impl
var state := PackedByteArray()
var phase := "connect"
var t_start := 0
var t_phase := 0
var frame := 0
var handshake_s := -1.0
var frame_us: PackedInt64Array = []
var part_us := [0, 0, 0] # poll, read, send over the window
var in_total := 0
var out_total := 0
var in_window := 0
var out_window := 0
var cpu0 := 0.0
var main_cpu0 := 0.0
var recv_us: PackedInt64Array = [] # poll + read, per frame
var wall0 := 0
var frames_window := 0
var result := {}
var loadgen_pid := -1
var loadgen_out := ""


class GodotServer:
	## As a Godot developer writes it: TCPServer, one WebSocketPeer per
	## accepted stream, polled every frame.
	var tcp := TCPServer.new()
	var peers: Array[WebSocketPeer] = []
	var open := 0
	var handshakes := 0

	func listen() -> int:
		if tcp.listen(0, "127.0.0.1") != OK:
			return -1
		return tcp.get_local_port()

	func poll() -> void:
		pass

	func poll_and_read() -> int:
		while tcp.is_connection_available():
			var ws := WebSocketPeer.new()
			ws.accept_stream(tcp.take_connection())
			peers.append(ws)
		var got := 0
		var i := 0
		open = 0
		while i < peers.size():
			var ws := peers[i]
			var before := ws.get_ready_state()
			ws.poll()
			var st := ws.get_ready_state()
			if st == WebSocketPeer.STATE_CLOSED:
				peers.remove_at(i)
				continue
			if st == WebSocketPeer.STATE_OPEN:
				if before == WebSocketPeer.STATE_CONNECTING:
					handshakes += 1
				open += 1
				while ws.get_available_packet_count() > 0:
					ws.get_packet()
					got += 1
			i += 1
		return got

	func send_all(data: PackedByteArray) -> int:
		var sent := 0
		for ws in peers:
			if ws.get_ready_state() == WebSocketPeer.STATE_OPEN and ws.put_packet(data) == OK:
				sent += 1
		return sent

	func connected() -> int: return handshakes

	func close_all() -> void:
		for ws in peers:
			ws.close()

	func stop() -> void:
		tcp.stop()


class OurServer:
	## GoWebSocketServer: peers tracked from its signals, state by broadcast().
	## Inputs read with get_packets() (bulk), in the data_received handler
	## (by_signal), or by asking every peer (neither).
	var server := GoWebSocketServer.new()
	var peers := {}
	var handshakes := 0
	var bulk := false
	var by_signal := false
	var got_by_signal := 0

	func listen() -> int:
		server.client_connected.connect(_on_connected)
		server.client_disconnected.connect(_on_disconnected)
		if by_signal:
			server.data_received.connect(_on_data)
		if server.listen(0, PackedStringArray(), "127.0.0.1") != OK:
			return -1
		return server.get_listen_port()

	func _on_connected(id: int, _protocol: String) -> void:
		peers[id] = server.get_peer(id)
		handshakes += 1

	func _on_disconnected(id: int, _clean: bool) -> void:
		peers.erase(id)

	func _on_data(id: int) -> void:
		var p: GoWebSocketPeer = peers.get(id)
		if p != null:
			p.get_packet()
			got_by_signal += 1

	func poll() -> void:
		server.poll()

	func poll_and_read() -> int:
		if bulk:
			var got := 0
			for msg: Array in server.get_packets():
				var _id: int = msg[0]
				var _input: PackedByteArray = msg[1]
				got += 1
			return got
		if by_signal:
			var n := got_by_signal
			got_by_signal = 0
			return n
		var got := 0
		for p: GoWebSocketPeer in peers.values():
			while p.get_available_packet_count() > 0:
				p.get_packet()
				got += 1
		return got

	func send_all(data: PackedByteArray) -> int:
		if peers.is_empty() or server.broadcast(data) != OK:
			return 0
		return peers.size()

	func connected() -> int: return handshakes

	func close_all() -> void:
		for id in peers.keys():
			server.disconnect_peer(id)

	func stop() -> void:
		server.stop()


class MultiplayerServer:
	## A MultiplayerPeer used directly (no SceneMultiplayer): Godot's own
	## WebSocketMultiplayerPeer or GoWebSocketMultiplayerPeer. poll(), every
	## packet read, the state put_packet to every peer (target 0).
	var mp: MultiplayerPeer
	var peers := 0
	var handshakes := 0

	func _init(ours: bool) -> void:
		mp = ClassDB.instantiate("GoWebSocketMultiplayerPeer") if ours else WebSocketMultiplayerPeer.new()

	func listen() -> int:
		mp.peer_connected.connect(func(_id: int) -> void:
			peers += 1
			handshakes += 1)
		mp.peer_disconnected.connect(func(_id: int) -> void: peers -= 1)
		# Godot's own cannot pick a free port itself: take one that is free now.
		var probe := TCPServer.new()
		probe.listen(0, "127.0.0.1")
		var port := probe.get_local_port()
		probe.stop()
		if mp.create_server(port, "127.0.0.1") != OK:
			return -1
		return port

	func poll() -> void:
		mp.poll()

	func poll_and_read() -> int:
		var got := 0
		while mp.get_available_packet_count() > 0:
			mp.get_packet()
			got += 1
		return got

	func send_all(data: PackedByteArray) -> int:
		if peers == 0:
			return 0
		mp.set_target_peer(MultiplayerPeer.TARGET_PEER_BROADCAST)
		return peers if mp.put_packet(data) == OK else 0

	func connected() -> int: return handshakes

	func close_all() -> void:
		mp.close()

	func stop() -> void:
		mp.close()


func _initialize() -> void:
	for a in OS.get_cmdline_user_args():
		var kv := a.trim_prefix("--").split("=", true, 1)
		if kv.size() == 2 and opt.has(kv[0]):
			var d = opt[kv[0]]
			opt[kv[0]] = kv[1].to_float() if d is float else (kv[1].to_int() if d is int else kv[1])
	if opt["loadgen"] == "":
		print("FAIL: --loadgen=PATH is required")
		quit(2)
		return
	match opt["impl"]:
		"godot": impl = GodotServer.new()
		"godot-mp": impl = MultiplayerServer.new(false)
		"ours-mp": impl = MultiplayerServer.new(true)
		_: impl = OurServer.new()
	# ours reads with get_packets() (every peer's inputs in one call);
	# ours-signal in its data_received handler (inside poll()); ours-loop
	# asks every peer each frame, as Godot's own server must.
	impl.set("bulk", opt["impl"] == "ours")
	impl.set("by_signal", opt["impl"] == "ours-signal")
	var port: int = impl.listen()
	if port <= 0:
		print("FAIL: listen")
		quit(1)
		return
	state.resize(opt["size"])
	state.fill(42)
	loadgen_out = opt["out"] if opt["out"] != "" else OS.get_cache_dir().path_join("gows_loadgen_%d.json" % OS.get_process_id())
	DirAccess.remove_absolute(loadgen_out)
	var timeout := HANDSHAKE_DEADLINE + SETTLE + float(opt["seconds"]) + 30.0
	loadgen_pid = OS.create_process(opt["loadgen"], [
		"-url", "ws://127.0.0.1:%d/" % port, "-clients", str(opt["clients"]),
		"-hz", str(opt["hz"]), "-size", "32", "-timeout", "%ds" % int(timeout), "-out", loadgen_out])
	if loadgen_pid < 0:
		print("FAIL: could not start " + opt["loadgen"])
		quit(1)
		return
	Engine.max_fps = 60
	t_start = Time.get_ticks_usec()
	t_phase = t_start


## CPU time of the process, or with main_thread of its main thread alone
## (what the game loop itself spent, whatever else ran on the cores).
func cpu_seconds(main_thread := false) -> float:
	var pid := OS.get_process_id()
	var f := FileAccess.open(("/proc/%d/task/%d/stat" % [pid, pid]) if main_thread else ("/proc/%d/stat" % pid), FileAccess.READ)
	if f == null:
		return -1.0
	var s := f.get_line()
	var fields := s.substr(s.rfind(")") + 2).split(" ")
	# fields[0] is field 3 (state): utime is field 14, stime field 15, in clock ticks (100 Hz).
	return (fields[11].to_float() + fields[12].to_float()) / 100.0


func _process(_delta: float) -> bool:
	var now := Time.get_ticks_usec()
	var sending: bool = phase != "drain" and phase != "wait" and opt["size"] > 0
	var t0 := Time.get_ticks_usec()
	impl.poll()
	var t1 := Time.get_ticks_usec()
	var got: int = impl.poll_and_read()
	var t2 := Time.get_ticks_usec()
	var sent := 0
	if sending and frame % int(opt["every"]) == 0:
		sent = impl.send_all(state)
	var t3 := Time.get_ticks_usec()
	var work := t3 - t0
	frame += 1
	in_total += got
	out_total += sent
	var since := (now - t_phase) / 1e6
	match phase:
		"connect":
			if impl.connected() >= opt["clients"]:
				handshake_s = (now - t_start) / 1e6
			if handshake_s >= 0 or since > HANDSHAKE_DEADLINE:
				phase = "settle"
				t_phase = now
		"settle":
			if since >= SETTLE:
				phase = "measure"
				t_phase = now
				cpu0 = cpu_seconds()
				main_cpu0 = cpu_seconds(true)
				wall0 = now
		"measure":
			frame_us.append(work)
			recv_us.append(t2 - t0)
			part_us[0] += t1 - t0
			part_us[1] += t2 - t1
			part_us[2] += t3 - t2
			in_window += got
			out_window += sent
			frames_window += 1
			if since >= opt["seconds"]:
				finish_window(now)
				phase = "drain"
				t_phase = now
		"drain":
			# Inputs still in flight are read; then every client is closed.
			if since >= 1.0:
				impl.close_all()
				phase = "wait"
				t_phase = now
		"wait":
			if FileAccess.file_exists(loadgen_out) or since > 15.0:
				report()
				impl.stop()
				return true
	return false


func finish_window(now: int) -> void:
	var wall := (now - wall0) / 1e6
	var cpu := cpu_seconds() - cpu0
	var main_cpu := cpu_seconds(true) - main_cpu0
	var recv := recv_us.duplicate()
	recv.sort()
	var sorted := frame_us.duplicate()
	sorted.sort()
	var n := sorted.size()
	var sum := 0
	for v in sorted:
		sum += v
	result = {
		"name": opt["name"], "impl": opt["impl"], "clients": opt["clients"], "size": opt["size"],
		"every": opt["every"], "seconds": snappedf(wall, 0.01),
		"connected": impl.connected(), "handshake_s": snappedf(handshake_s, 0.001),
		"frames": n, "fps": snappedf(n / wall, 0.1),
		"mean_ms": snappedf(sum / float(max(n, 1)) / 1000.0, 0.001),
		"p50_ms": snappedf(sorted[n / 2] / 1000.0, 0.001) if n > 0 else 0.0,
		"p99_ms": snappedf(sorted[min(n - 1, int(n * 0.99))] / 1000.0, 0.001) if n > 0 else 0.0,
		"max_ms": snappedf(sorted[n - 1] / 1000.0, 0.001) if n > 0 else 0.0,
		"poll_ms": snappedf(part_us[0] / float(max(n, 1)) / 1000.0, 0.001),
		"read_ms": snappedf(part_us[1] / float(max(n, 1)) / 1000.0, 0.001),
		"send_ms": snappedf(part_us[2] / float(max(n, 1)) / 1000.0, 0.001),
		"in_window": in_window, "out_window": out_window,
		"cpu_s": snappedf(cpu, 0.01),
		"cpu_pct": snappedf(100.0 * cpu / wall, 0.1),
		"cpu_us_per_msg": snappedf(cpu * 1e6 / max(in_window + out_window, 1), 0.01),
		# Robust on a busy machine: the median frame's poll() + reading, and
		# the main thread's CPU time per frame (engine loop included).
		"recv_p50_ms": snappedf(recv[n / 2] / 1000.0, 0.001) if n > 0 else 0.0,
		"main_cpu_ms_per_frame": snappedf(main_cpu * 1000.0 / max(n, 1), 0.001),
		"inputs_per_frame": snappedf(in_window / float(max(n, 1)), 0.1),
	}


func report() -> void:
	var lg = null
	if FileAccess.file_exists(loadgen_out):
		lg = JSON.parse_string(FileAccess.get_file_as_string(loadgen_out))
		DirAccess.remove_absolute(loadgen_out)
	else:
		OS.kill(loadgen_pid)
	result["server_in_total"] = in_total
	result["server_out_total"] = out_total
	if lg is Dictionary:
		result["client_sent"] = int(lg["sent"])
		result["client_received"] = int(lg["received"])
		result["client_handshake_s"] = lg["handshake_secs"]
		result["client_dial_errors"] = int(lg["dial_errors"])
		result["loadgen_cpu_s"] = lg["cpu_secs"]
		# Delivered: what arrived of what was sent, over the whole run.
		result["delivered_out"] = snappedf(int(lg["received"]) / float(max(out_total, 1)), 0.0001)
		result["delivered_in"] = snappedf(in_total / float(max(int(lg["sent"]), 1)), 0.0001)
		if lg.get("first_error", "") != "":
			result["client_first_error"] = lg["first_error"]
	else:
		result["loadgen"] = "no result (killed)"
	print("BENCH " + JSON.stringify(result))
