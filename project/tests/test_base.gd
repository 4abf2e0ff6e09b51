extends Object
## Helpers shared by the test suites: assertions, a poll loop with a deadline,
## signal recording, and cleanup of every client and server a test made.

var failures: Array[String] = []
var _servers: Array = []
var _clients: Array = []
var _pollables: Array = []  # other things to poll (Godot's own WebSocketPeer)


func check(cond: bool, what: String) -> bool:
	if not cond:
		failures.append(what)
	return cond


func eq(got, want, what: String) -> bool:
	return check(typeof(got) == typeof(want) and got == want, "%s: got %s, want %s" % [what, var_to_str(got), var_to_str(want)])


## Polls every client, server and extra peer until cond is true or timeout.
func pump(cond: Callable, timeout_ms := 5000) -> bool:
	var deadline := Time.get_ticks_msec() + timeout_ms
	while true:
		for s in _servers:
			s.poll()
		for c in _clients:
			c.poll()
		for p in _pollables:
			p.poll()
		if cond.call():
			return true
		if Time.get_ticks_msec() > deadline:
			return false
		OS.delay_usec(100)
	return false


## Polls for a fixed time (to show that something does NOT happen).
func pump_for(ms: int) -> void:
	pump(func(): return false, ms)


func new_server(protocols := PackedStringArray()) -> GoWebSocketServer:
	var s := GoWebSocketServer.new()
	var err := s.listen(0, protocols, "127.0.0.1")
	check(err == OK, "listen returned %d" % err)
	_servers.append(s)
	return s


func new_client() -> GoWebSocketClient:
	var c := GoWebSocketClient.new()
	_clients.append(c)
	return c


func url(server: GoWebSocketServer, path := "/") -> String:
	return "ws://127.0.0.1:%d%s" % [server.get_listen_port(), path]


## Connects a fresh client to server; returns [client, server_peer_id] once
## both sides report the connection (or [client, -1]).
func connect_pair(server: GoWebSocketServer, protocols := PackedStringArray()) -> Array:
	var c := new_client()
	var before := server.get_peer_ids().size()
	check(c.connect_to_url(url(server), protocols) == OK, "connect_to_url failed")
	var ok := pump(func(): return c.get_connection_status() == 2 and server.get_peer_ids().size() > before)
	if not check(ok, "connection did not open"):
		return [c, -1]
	var ids := server.get_peer_ids()
	return [c, ids[ids.size() - 1]]


## The headers of a WebSocket upgrade request (a fixed key).
const UPGRADE := "Upgrade: websocket\r\nConnection: Upgrade\r\n" + \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"


## Sends prefix + an HTTP request on a new TCP connection and returns
## [StreamPeerTCP (still open), response head]. The caller disconnects it.
func raw_request(port: int, request: String, prefix := PackedByteArray()) -> Array:
	var tcp := StreamPeerTCP.new()
	tcp.connect_to_host("127.0.0.1", port)
	var got := PackedByteArray()
	var sent := [false]
	pump(func():
		tcp.poll()
		if tcp.get_status() != StreamPeerTCP.STATUS_CONNECTED:
			return tcp.get_status() == StreamPeerTCP.STATUS_ERROR
		if not sent[0]:
			tcp.put_data(prefix + request.to_ascii_buffer())
			sent[0] = true
		var n := tcp.get_available_bytes()
		if n > 0:
			got.append_array(tcp.get_data(n)[1])
		return got.get_string_from_ascii().find("\r\n\r\n") >= 0, 3000)
	return [tcp, got.get_string_from_ascii()]


## Records every signal of obj into the returned array as [name, args...].
func record(obj: Object) -> Array:
	var log := []
	for s in obj.get_signal_list():
		var n: String = s["name"]
		if not ClassDB.class_has_signal(obj.get_class(), n) or ClassDB.class_has_signal("RefCounted", n):
			continue
		match s["args"].size():
			0:
				obj.connect(n, func(): log.append([n]))
			1:
				obj.connect(n, func(a): log.append([n, a]))
			2:
				obj.connect(n, func(a, b): log.append([n, a, b]))
			3:
				obj.connect(n, func(a, b, c): log.append([n, a, b, c]))
	return log


func names(log: Array) -> Array:
	return log.map(func(e): return e[0])


func find(log: Array, name: String) -> Array:
	for e in log:
		if e[0] == name:
			return e
	return []


func cleanup() -> void:
	for c in _clients:
		if c.get_connection_status() != 0:
			c.disconnect_from_host()
	for s in _servers:
		s.stop()
	pump(func(): return _clients.all(func(c): return c.get_connection_status() == 0), 2000)
	for obj in _clients + _servers:
		for s in obj.get_signal_list():
			for conn in obj.get_signal_connection_list(s["name"]):
				obj.disconnect(s["name"], conn["callable"])
	_clients.clear()
	_servers.clear()
	_pollables.clear()
