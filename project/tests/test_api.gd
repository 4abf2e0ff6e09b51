extends "res://tests/test_base.gd"
## The GDScript API contract, end to end inside the engine.


func test_classes_and_constants() -> bool:
	check(ClassDB.is_parent_class("GoWebSocketPeer", "PacketPeer"), "GoWebSocketPeer is not a PacketPeer")
	check(ClassDB.is_parent_class("GoWebSocketClient", "RefCounted"), "GoWebSocketClient is not RefCounted")
	check(ClassDB.is_parent_class("GoWebSocketServer", "RefCounted"), "GoWebSocketServer is not RefCounted")
	eq(GoWebSocketPeer.WRITE_MODE_TEXT, 0, "WRITE_MODE_TEXT")
	eq(GoWebSocketPeer.WRITE_MODE_BINARY, 1, "WRITE_MODE_BINARY")
	eq(GoWebSocketPeer.STATE_CONNECTING, 0, "STATE_CONNECTING")
	eq(GoWebSocketPeer.STATE_OPEN, 1, "STATE_OPEN")
	eq(GoWebSocketPeer.STATE_CLOSING, 2, "STATE_CLOSING")
	eq(GoWebSocketPeer.STATE_CLOSED, 3, "STATE_CLOSED")
	for m in ["close", "get_connected_host", "get_connected_port", "get_write_mode", "set_write_mode",
			"is_connected_to_host", "was_string_packet", "send", "send_text", "get_ready_state",
			"get_close_code", "get_close_reason", "get_selected_protocol", "get_requested_url",
			"set_no_delay", "get_current_outbound_buffered_amount", "get_rtt_ms", "get_stats"]:
		check(ClassDB.class_has_method("GoWebSocketPeer", m), "GoWebSocketPeer lacks " + m)
	for s in ["connection_established", "connection_error", "connection_closed", "data_received",
			"server_close_request", "reconnecting"]:
		check(ClassDB.class_has_signal("GoWebSocketClient", s), "GoWebSocketClient lacks signal " + s)
	for s in ["client_connected", "client_disconnected", "client_close_request", "data_received"]:
		check(ClassDB.class_has_signal("GoWebSocketServer", s), "GoWebSocketServer lacks signal " + s)
	# A peer made by hand has no connection.
	var p := GoWebSocketPeer.new()
	eq(p.get_ready_state(), GoWebSocketPeer.STATE_CLOSED, "standalone peer state")
	eq(p.get_write_mode(), GoWebSocketPeer.WRITE_MODE_BINARY, "default write mode")
	eq(p.get_available_packet_count(), 0, "standalone packet count")
	eq(p.put_packet(PackedByteArray([1])), ERR_UNCONFIGURED, "put_packet without connection")
	return true


func test_properties_defaults_and_set() -> bool:
	var c := GoWebSocketClient.new()
	eq(c.verify_tls, true, "verify_tls default")
	eq(c.handshake_timeout, 3.0, "handshake_timeout default")
	eq(c.auto_reconnect, false, "auto_reconnect default")
	eq(c.compression_enabled, false, "compression_enabled default")
	check(c.inbound_buffer_size > 0 and c.outbound_buffer_size > 0 and c.max_queued_packets > 0, "buffer defaults must be positive")
	c.handshake_timeout = 1.5
	c.heartbeat_interval = 0.25
	c.proxy_url = "http://127.0.0.1:3128"
	c.inbound_buffer_size = 1 << 20
	eq(c.handshake_timeout, 1.5, "handshake_timeout set")
	eq(c.heartbeat_interval, 0.25, "heartbeat_interval set")
	eq(c.proxy_url, "http://127.0.0.1:3128", "proxy_url set")
	eq(c.inbound_buffer_size, 1 << 20, "inbound_buffer_size set")
	c.max_queued_packets = -5  # refused with an engine error
	check(c.max_queued_packets > 0, "a negative max_queued_packets was accepted")
	var s := GoWebSocketServer.new()
	s.max_connections = 7
	s.allowed_origins = PackedStringArray(["https://game.example"])
	eq(s.max_connections, 7, "max_connections set")
	eq(s.allowed_origins, PackedStringArray(["https://game.example"]), "allowed_origins set")
	check(s.tls_certificate == null, "tls_certificate default must be null")
	var cert := X509Certificate.new()
	s.tls_certificate = cert
	check(s.tls_certificate == cert, "tls_certificate did not keep the object")
	return true


func test_listen_port_zero_and_stop() -> bool:
	var s := GoWebSocketServer.new()
	eq(s.is_listening(), false, "listening before listen")
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen(0)")
	check(s.get_listen_port() > 0, "port 0 did not pick a port")
	eq(s.is_listening(), true, "is_listening")
	eq(s.listen(0), ERR_ALREADY_IN_USE, "listen twice")
	eq(s.listen(70000), ERR_ALREADY_IN_USE, "listen twice with a bad port")
	s.stop()
	eq(s.is_listening(), false, "listening after stop")
	eq(s.listen(70000), ERR_INVALID_PARAMETER, "port out of range")
	return true


func test_bad_urls_are_refused_at_once() -> bool:
	var c := new_client()
	for bad in ["", "not a url", "ftp://127.0.0.1/", "http://127.0.0.1/", "ws://", "ws://:80/"]:
		eq(c.connect_to_url(bad), ERR_INVALID_PARAMETER, "connect_to_url(%s)" % bad)
		eq(c.get_connection_status(), 0, "status after bad url " + bad)
	eq(c.connect_to_url("ws://127.0.0.1:1/", PackedStringArray(), PackedStringArray(["no colon"])), ERR_INVALID_PARAMETER, "malformed custom header")
	return true


func test_connection_error_on_refused_port() -> bool:
	# Find a port nobody listens on: listen, note the port, stop.
	var probe := TCPServer.new()
	probe.listen(0, "127.0.0.1")
	var port := probe.get_local_port()
	probe.stop()
	var c := new_client()
	var log := record(c)
	eq(c.connect_to_url("ws://127.0.0.1:%d/" % port), OK, "connect_to_url is non-blocking")
	eq(c.get_connection_status(), 1, "status while connecting")
	check(pump(func(): return not log.is_empty()), "no signal after a refused connection")
	eq(names(log), ["connection_error"], "signals after refused connection")
	eq(c.get_connection_status(), 0, "status after error")
	return true


func test_connect_subprotocol_and_signals() -> bool:
	var s := new_server(PackedStringArray(["chat", "game"]))
	var slog := record(s)
	var c := new_client()
	var clog := record(c)
	eq(c.connect_to_url(url(s, "/room?x=1"), PackedStringArray(["other", "game"]), PackedStringArray(["X-Player: ada"])), OK, "connect")
	check(pump(func(): return not clog.is_empty() and not slog.is_empty()), "no connection signals")
	eq(clog[0], ["connection_established", "game"], "client signal")
	eq(slog[0][0], "client_connected", "server signal")
	eq(slog[0][2], "game", "server sees the protocol")
	var id: int = slog[0][1]
	check(id > 0, "peer id must be positive")
	eq(c.get_connection_status(), 2, "status connected")
	var p: GoWebSocketPeer = c.get_peer(1)
	eq(p.get_ready_state(), GoWebSocketPeer.STATE_OPEN, "client peer state")
	eq(p.is_connected_to_host(), true, "is_connected_to_host")
	eq(p.get_selected_protocol(), "game", "client selected protocol")
	eq(p.get_requested_url(), url(s, "/room?x=1"), "requested url")
	eq(p.get_connected_host(), "127.0.0.1", "client connected host")
	eq(p.get_connected_port(), s.get_listen_port(), "client connected port")
	eq(c.get_connected_port(), s.get_listen_port(), "client.get_connected_port")
	var sp: GoWebSocketPeer = s.get_peer(id)
	eq(sp.get_selected_protocol(), "game", "server peer protocol")
	eq(s.has_peer(id), true, "has_peer")
	eq(s.has_peer(id + 1000), false, "has_peer unknown")
	eq(s.get_peer_ids(), PackedInt32Array([id]), "get_peer_ids")
	eq(s.get_peer_address(id), "127.0.0.1", "get_peer_address")
	check(s.get_peer_port(id) > 0, "get_peer_port")
	var req := s.get_peer_request(id)
	eq(req.get("path"), "/room", "request path")
	eq(req.get("query"), "x=1", "request query")
	eq(req.get("headers", {}).get("x-player"), "ada", "custom header seen by the server")
	return true


func test_write_modes_and_was_string_packet() -> bool:
	var s := new_server()
	var pair := connect_pair(s)
	var c: GoWebSocketClient = pair[0]
	var cp: GoWebSocketPeer = c.get_peer(1)
	var sp: GoWebSocketPeer = s.get_peer(pair[1])
	eq(cp.send_text("héllo"), OK, "send_text")
	eq(cp.send(PackedByteArray([0, 1, 2, 255])), OK, "send binary")
	eq(cp.send("as text".to_utf8_buffer(), GoWebSocketPeer.WRITE_MODE_TEXT), OK, "send text mode")
	cp.set_write_mode(GoWebSocketPeer.WRITE_MODE_TEXT)
	eq(cp.get_write_mode(), GoWebSocketPeer.WRITE_MODE_TEXT, "write mode set")
	eq(cp.put_packet("put text".to_utf8_buffer()), OK, "put_packet in text mode")
	check(pump(func(): return sp.get_available_packet_count() == 4), "4 packets did not arrive")
	eq(sp.get_packet().get_string_from_utf8(), "héllo", "text payload")
	eq(sp.was_string_packet(), true, "text flag")
	eq(sp.get_packet(), PackedByteArray([0, 1, 2, 255]), "binary payload")
	eq(sp.was_string_packet(), false, "binary flag")
	eq(sp.get_packet().get_string_from_utf8(), "as text", "send() text mode payload")
	eq(sp.was_string_packet(), true, "send() text mode flag")
	eq(sp.get_packet().get_string_from_utf8(), "put text", "put_packet text payload")
	eq(sp.was_string_packet(), true, "put_packet text flag")
	eq(sp.get_available_packet_count(), 0, "queue drained")
	eq(sp.get_packet(), PackedByteArray(), "get_packet on empty queue")
	eq(sp.get_packet_error(), ERR_UNAVAILABLE, "get_packet_error on empty queue")
	# Invalid UTF-8 cannot go out as text, and a bad mode is refused.
	eq(cp.send(PackedByteArray([0xff, 0xfe]), GoWebSocketPeer.WRITE_MODE_TEXT), ERR_INVALID_PARAMETER, "invalid UTF-8 as text")
	eq(cp.send(PackedByteArray([1]), 7), ERR_INVALID_PARAMETER, "bad write mode")
	return true


func test_two_thousand_ordered_messages_both_ways() -> bool:
	var s := new_server()
	var pair := connect_pair(s)
	var c: GoWebSocketClient = pair[0]
	var cp: GoWebSocketPeer = c.get_peer(1)
	var sp: GoWebSocketPeer = s.get_peer(pair[1])
	const N := 2000
	var got_s := []
	var got_c := []
	var sent := [0, 0]  # client, server (an Array: lambdas capture ints by value)
	var ok := pump(func():
		while sent[0] < N and cp.send_text(str(sent[0])) == OK:
			sent[0] += 1
		while sent[1] < N and sp.put_packet(var_to_bytes(sent[1])) == OK:
			sent[1] += 1
		while sp.get_available_packet_count() > 0:
			got_s.append(int(sp.get_packet().get_string_from_utf8()))
		while cp.get_available_packet_count() > 0:
			got_c.append(bytes_to_var(cp.get_packet()))
		return got_s.size() == N and got_c.size() == N, 20000)
	check(ok, "only %d/%d and %d/%d messages arrived" % [got_s.size(), N, got_c.size(), N])
	var in_order := true
	for i in got_s.size():
		in_order = in_order and got_s[i] == i
	for i in got_c.size():
		in_order = in_order and got_c[i] == i
	check(in_order, "messages out of order")
	var st := sp.get_stats()
	eq(st.get("messages_in"), N, "server peer messages_in")
	eq(st.get("messages_out"), N, "server peer messages_out")
	check(st.get("wire_bytes_in", 0) > st.get("bytes_in", 0), "wire bytes must include framing")
	for k in ["messages_in", "messages_out", "bytes_in", "bytes_out", "wire_bytes_in", "wire_bytes_out", "queued_in", "queued_out", "rtt_ms"]:
		check(st.has(k), "get_stats lacks " + k)
	var sst := s.get_stats()
	eq(sst.get("peers"), 1, "server stats peers")
	eq(sst.get("messages_in"), N, "server stats messages_in")
	return true


func test_put_var_get_var() -> bool:
	var s := new_server()
	var pair := connect_pair(s)
	var cp: GoWebSocketPeer = pair[0].get_peer(1)
	var sp: GoWebSocketPeer = s.get_peer(pair[1])
	var value := {"name": "ada", "pos": Vector2(3, 4), "items": [1, 2.5, "three"], "blob": PackedByteArray([9, 8])}
	eq(cp.put_var(value), OK, "put_var")
	check(pump(func(): return sp.get_available_packet_count() > 0), "var did not arrive")
	eq(sp.get_var(), value, "get_var round trip")
	return true


func test_client_initiated_close_with_code_and_reason() -> bool:
	var s := new_server()
	var slog := record(s)
	var pair := connect_pair(s)
	var c: GoWebSocketClient = pair[0]
	var clog := record(c)
	var id: int = pair[1]
	var sp: GoWebSocketPeer = s.get_peer(id)
	var cp: GoWebSocketPeer = c.get_peer(1)
	eq(cp.close(4001, "x".repeat(124)), ERR_INVALID_PARAMETER, "reason over 123 bytes")
	eq(cp.get_ready_state(), GoWebSocketPeer.STATE_OPEN, "still open after a refused close")
	eq(cp.close(1005), ERR_INVALID_PARAMETER, "close code 1005 cannot be sent")
	eq(cp.send_text("last words"), OK, "send before close")
	eq(cp.close(4001, "bye now"), OK, "close")
	eq(cp.get_ready_state(), GoWebSocketPeer.STATE_CLOSING, "closing")
	check(pump(func(): return find(slog, "client_disconnected") != [] and find(clog, "connection_closed") != []), "close did not finish")
	eq(find(slog, "client_close_request"), ["client_close_request", id, 4001, "bye now"], "server close request")
	eq(find(slog, "client_disconnected"), ["client_disconnected", id, true], "server disconnected clean")
	eq(find(clog, "connection_closed"), ["connection_closed", true], "client closed clean")
	var order := names(slog).filter(func(n): return n != "client_connected")
	eq(order, ["data_received", "client_close_request", "client_disconnected"], "server signal order")
	eq(sp.get_packet().get_string_from_utf8(), "last words", "message queued before close was delivered")
	eq(sp.get_close_code(), 4001, "server peer close code")
	eq(sp.get_close_reason(), "bye now", "server peer close reason")
	eq(cp.get_ready_state(), GoWebSocketPeer.STATE_CLOSED, "client closed state")
	eq(c.get_connection_status(), 0, "client status after close")
	eq(s.has_peer(id), false, "peer forgotten after disconnect")
	eq(cp.send_text("too late"), FAILED, "send after close")
	return true


func test_server_initiated_close_with_code_and_reason() -> bool:
	var s := new_server()
	var pair := connect_pair(s)
	var c: GoWebSocketClient = pair[0]
	var clog := record(c)
	var cp: GoWebSocketPeer = c.get_peer(1)
	eq(s.disconnect_peer(pair[1], 4002, "server says bye"), OK, "disconnect_peer")
	check(pump(func(): return find(clog, "connection_closed") != []), "client did not see the close")
	eq(find(clog, "server_close_request"), ["server_close_request", 4002, "server says bye"], "client close request")
	eq(find(clog, "connection_closed"), ["connection_closed", true], "clean close")
	eq(cp.get_close_code(), 4002, "client close code")
	eq(cp.get_close_reason(), "server says bye", "client close reason")
	# The server drops the peer once its own poll() sees the end, which may
	# come after the client's.
	check(pump(func(): return not s.has_peer(pair[1])), "server did not drop the closed peer")
	eq(s.disconnect_peer(pair[1]), ERR_DOES_NOT_EXIST, "disconnect unknown peer")
	check(s.get_peer(987654) == null, "get_peer of an unknown id must be null")
	return true


func test_broadcast_and_peer_ids_never_reused() -> bool:
	var s := new_server()
	var a := connect_pair(s)
	var b := connect_pair(s)
	check(a[1] != b[1], "two peers share an id")
	eq(s.broadcast("all".to_utf8_buffer(), GoWebSocketPeer.WRITE_MODE_TEXT), OK, "broadcast")
	var pa: GoWebSocketPeer = a[0].get_peer(1)
	var pb: GoWebSocketPeer = b[0].get_peer(1)
	check(pump(func(): return pa.get_available_packet_count() == 1 and pb.get_available_packet_count() == 1), "broadcast did not reach both")
	eq(pa.get_packet().get_string_from_utf8(), "all", "broadcast payload")
	a[0].disconnect_from_host()
	check(pump(func(): return not s.has_peer(a[1])), "first peer did not leave")
	var c := connect_pair(s)
	check(c[1] > b[1], "a new peer reused or went below an old id (%d after %d)" % [c[1], b[1]])
	return true


func test_wrong_calls_return_errors_not_crashes() -> bool:
	var s := new_server()
	var c := new_client()
	# Untyped calls with wrong argument types go through the variant call path.
	var sv: Variant = s
	var cv: Variant = c
	eq(sv.callv("get_peer", ["one"]), null, "get_peer with a String id")
	eq(cv.callv("connect_to_url", [42]), null, "connect_to_url with an int")
	eq(cv.callv("connect_to_url", []), null, "connect_to_url without arguments")
	# Calls on a stopped server.
	s.stop()
	eq(s.broadcast(PackedByteArray([1])), ERR_UNCONFIGURED, "broadcast after stop")
	eq(s.get_peer_ids(), PackedInt32Array(), "no peers after stop")
	eq(c.disconnect_from_host(), ERR_UNCONFIGURED, "disconnect before connect")
	check(c.get_peer(2) == null, "client has only peer 1")
	eq(s.set_extra_headers(PackedStringArray(["bad header"])), ERR_INVALID_PARAMETER, "malformed extra header")
	return true


func test_go_panic_does_not_cross_into_the_engine() -> bool:
	# run.sh starts the engine with GOWS_TEST_PANIC=1, which registers a class
	# whose methods panic on purpose.
	if not check(ClassDB.class_exists("GoWebSocketPanicProbe"), "GoWebSocketPanicProbe missing: run through tests/run.sh (GOWS_TEST_PANIC=1)"):
		return false
	var probe = ClassDB.instantiate("GoWebSocketPanicProbe")
	eq(probe.panic_now(), 0, "a panicking method returns the zero value")
	probe.nil_map_write()
	eq(probe.still_alive(), 42, "the engine and the library keep working after panics")
	var s := new_server()
	eq(s.is_listening(), true, "the real classes keep working after panics")
	return true


## Sends data from client peer cp and waits until server peer sp has `count` queued.
func _send_and_wait(cp: GoWebSocketPeer, data: PackedByteArray, text: bool, sp: GoWebSocketPeer, count: int) -> void:
	var mode := GoWebSocketPeer.WRITE_MODE_TEXT if text else GoWebSocketPeer.WRITE_MODE_BINARY
	eq(cp.send(data, mode), OK, "send")
	check(pump(func(): return sp.get_available_packet_count() == count), "message %s did not arrive" % [data])


func test_get_packets_in_arrival_order_shared_with_get_packet() -> bool:
	var s := new_server()
	eq(s.get_packets(), [], "get_packets with nothing queued")
	var a := connect_pair(s)
	var b := connect_pair(s)
	var ca: GoWebSocketPeer = a[0].get_peer(1)
	var cb: GoWebSocketPeer = b[0].get_peer(1)
	var sa: GoWebSocketPeer = s.get_peer(a[1])
	var sb: GoWebSocketPeer = s.get_peer(b[1])
	# One at a time, so that the order they arrive in is known.
	_send_and_wait(ca, "a1".to_utf8_buffer(), true, sa, 1)
	_send_and_wait(cb, PackedByteArray([1, 2, 3]), false, sb, 1)
	_send_and_wait(ca, "a2".to_utf8_buffer(), false, sa, 2)
	_send_and_wait(cb, "b2".to_utf8_buffer(), true, sb, 2)
	_send_and_wait(ca, "a3".to_utf8_buffer(), true, sa, 3)
	_send_and_wait(cb, PackedByteArray(), false, sb, 3)
	eq(s.get_packets(0), [], "get_packets(0)")
	eq(sa.get_available_packet_count(), 3, "get_packets(0) took nothing")
	var got := s.get_packets(2)
	eq(got, [[a[1], "a1".to_utf8_buffer(), true], [b[1], PackedByteArray([1, 2, 3]), false]], "the first two, across peers")
	if got.size() == 2:
		eq(typeof(got[0][0]), TYPE_INT, "peer id type")
		eq(typeof(got[0][1]), TYPE_PACKED_BYTE_ARRAY, "packet type")
		eq(typeof(got[0][2]), TYPE_BOOL, "was_string type")
	eq(sa.get_available_packet_count(), 2, "a's count after get_packets(2)")
	eq(sb.get_available_packet_count(), 2, "b's count after get_packets(2)")
	# The peer's own get_packet takes from the same queue: never twice, none lost.
	eq(sa.get_packet().get_string_from_utf8(), "a2", "get_packet after get_packets")
	eq(sa.was_string_packet(), false, "a2's flag")
	# An untyped call goes through the engine's variant call path.
	var sv: Variant = s
	eq(sv.get_packets(1), [[b[1], "b2".to_utf8_buffer(), true]], "untyped get_packets(1)")
	eq(s.get_packets(-7), [[a[1], "a3".to_utf8_buffer(), true], [b[1], PackedByteArray(), false]], "the rest (a negative max)")
	eq(sa.get_available_packet_count() + sb.get_available_packet_count(), 0, "queues drained")
	eq(s.get_packets(), [], "nothing twice")
	eq(sb.get_packet(), PackedByteArray(), "get_packet after get_packets took all")
	eq(sv.callv("get_packets", ["many"]), null, "get_packets with a String")
	s.stop()
	eq(s.get_packets(), [], "get_packets after stop")
	return true


func test_get_packets_of_a_peer_that_left_and_many() -> bool:
	var s := new_server()
	s.get_packets()  # a server read this way keeps what a leaving peer sent
	var a := connect_pair(s)
	var b := connect_pair(s)
	var ca: GoWebSocketPeer = a[0].get_peer(1)
	var cb: GoWebSocketPeer = b[0].get_peer(1)
	const N := 300
	for i in N:
		ca.send_text("a%d" % i)
		cb.send_text("b%d" % i)
	a[0].disconnect_from_host()
	var got := []
	var left := [false]
	s.client_disconnected.connect(func(id: int, _clean: bool): left[0] = left[0] or id == a[1])
	check(pump(func():
		# At most 50 a frame, as a server that spreads its work would.
		got.append_array(s.get_packets(50))
		return got.size() == 2 * N and left[0], 10000), "got %d/%d messages (peer left: %s)" % [got.size(), 2 * N, left[0]])
	eq(s.has_peer(a[1]), false, "the first peer left")
	var seen := {a[1]: 0, b[1]: 0}
	var ok := true
	for e in got:
		var id: int = e[0]
		var want := ("a%d" if id == a[1] else "b%d") % seen.get(id, 0)
		ok = ok and seen.has(id) and e[1].get_string_from_utf8() == want and e[2] == true
		seen[id] = seen.get(id, 0) + 1
	check(ok, "each peer's messages in its own order, with their text flag")
	eq(seen, {a[1]: N, b[1]: N}, "messages per peer")
	# Arrays and packets are freed with the result: reading more must not grow memory.
	var mem_before := 0
	var payload := PackedByteArray()
	payload.resize(1024)
	for round in 20:
		if round == 5:
			mem_before = Performance.get_monitor(Performance.MEMORY_STATIC)
		for i in 100:
			cb.send(payload)
		var n := [0]  # an Array: lambdas capture ints by value
		check(pump(func():
			n[0] += s.get_packets().size()
			return n[0] == 100), "round %d: %d/100" % [round, n[0]])
	var grew: float = Performance.get_monitor(Performance.MEMORY_STATIC) - mem_before
	if mem_before > 0:  # 0: a release build keeps no count
		check(grew < 512 * 1024, "static memory grew %d bytes over 1.5 MB of packets read" % grew)
	return true
