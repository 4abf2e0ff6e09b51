extends "res://tests/test_base.gd"
## Interop with Godot's own WebSocketPeer, in both directions.


func test_godot_websocketpeer_client_to_our_server() -> bool:
	var s := new_server(PackedStringArray(["game"]))
	var slog := record(s)
	var ws := WebSocketPeer.new()
	ws.supported_protocols = PackedStringArray(["game"])
	_pollables.append(ws)
	eq(ws.connect_to_url(url(s, "/godot")), OK, "WebSocketPeer.connect_to_url")
	check(pump(func(): return ws.get_ready_state() == WebSocketPeer.STATE_OPEN and s.get_peer_ids().size() == 1), "Godot client did not connect")
	eq(ws.get_selected_protocol(), "game", "protocol seen by Godot")
	var id: int = s.get_peer_ids()[0]
	var sp: GoWebSocketPeer = s.get_peer(id)
	ws.send_text("from godot")
	ws.send(PackedByteArray([1, 2, 3]))
	check(pump(func(): return sp.get_available_packet_count() == 2), "messages from Godot did not arrive")
	eq(sp.get_packet().get_string_from_utf8(), "from godot", "text from Godot")
	eq(sp.was_string_packet(), true, "text flag from Godot")
	eq(sp.get_packet(), PackedByteArray([1, 2, 3]), "binary from Godot")
	eq(sp.was_string_packet(), false, "binary flag from Godot")
	sp.send_text("to godot")
	sp.send(PackedByteArray([4, 5]))
	check(pump(func(): return ws.get_available_packet_count() == 2), "messages to Godot did not arrive")
	eq(ws.get_packet().get_string_from_utf8(), "to godot", "text to Godot")
	eq(ws.was_string_packet(), true, "Godot saw a text frame")
	eq(ws.get_packet(), PackedByteArray([4, 5]), "binary to Godot")
	eq(ws.was_string_packet(), false, "Godot saw a binary frame")
	ws.close(4010, "godot leaves")
	check(pump(func(): return find(slog, "client_disconnected") != []), "close from Godot not seen")
	eq(find(slog, "client_close_request"), ["client_close_request", id, 4010, "godot leaves"], "close code from Godot")
	eq(find(slog, "client_disconnected"), ["client_disconnected", id, true], "clean close with Godot")
	return true


func test_our_client_to_godot_websocketpeer_server() -> bool:
	var tcp := TCPServer.new()
	eq(tcp.listen(0, "127.0.0.1"), OK, "TCPServer.listen")
	var port := tcp.get_local_port()
	var ws := WebSocketPeer.new()
	ws.supported_protocols = PackedStringArray(["game"])
	var c := new_client()
	var clog := record(c)
	eq(c.connect_to_url("ws://127.0.0.1:%d/" % port, PackedStringArray(["game"])), OK, "connect")
	var accepted := [false]
	_pollables.append(ws)
	var ok := pump(func():
		if not accepted[0] and tcp.is_connection_available():
			ws.accept_stream(tcp.take_connection())
			accepted[0] = true
		return accepted[0] and ws.get_ready_state() == WebSocketPeer.STATE_OPEN and c.get_connection_status() == 2)
	check(ok, "did not connect to Godot's server")
	eq(find(clog, "connection_established"), ["connection_established", "game"], "protocol from Godot's server")
	var cp: GoWebSocketPeer = c.get_peer(1)
	cp.send_text("hi godot")
	cp.send(PackedByteArray([7]))
	check(pump(func(): return ws.get_available_packet_count() == 2), "messages to Godot's server did not arrive")
	eq(ws.get_packet().get_string_from_utf8(), "hi godot", "text to Godot's server")
	eq(ws.was_string_packet(), true, "text flag at Godot's server")
	eq(ws.get_packet(), PackedByteArray([7]), "binary to Godot's server")
	ws.send_text("hi go")
	check(pump(func(): return cp.get_available_packet_count() == 1), "message from Godot's server did not arrive")
	eq(cp.get_packet().get_string_from_utf8(), "hi go", "text from Godot's server")
	eq(cp.was_string_packet(), true, "text flag from Godot's server")
	ws.close(4020, "server leaves")
	check(pump(func(): return find(clog, "connection_closed") != []), "close from Godot's server not seen")
	eq(find(clog, "server_close_request"), ["server_close_request", 4020, "server leaves"], "close code from Godot's server")
	eq(find(clog, "connection_closed"), ["connection_closed", true], "clean close with Godot's server")
	eq(cp.get_close_code(), 4020, "close code recorded")
	tcp.stop()
	return true
