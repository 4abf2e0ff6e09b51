extends SceneTree
# An echo peer built on Godot 3's own WebSocketClient / WebSocketServer,
# driven by text commands from the Go test (see ../commands_test.go).
#   godot3-server --no-window -s peer.gd -- server <port>
#   godot3-server --no-window -s peer.gd -- client <url>
# It prints "PORT <port>", "OPEN", "CLOSED <code> <reason>" (the other side's
# close request) and "ENDED <clean>".
#
# Each packet is echoed in the write mode Godot reports it arrived in
# (was_string_packet() -> set_write_mode()), so the Go side sees text come back
# as text and binary as binary only if Godot got both right.

var server := WebSocketServer.new()
var client := WebSocketClient.new()
var mode := ""


func _user_args() -> Array:
	var args := Array(OS.get_cmdline_args())
	var i := args.find("--")
	return args.slice(i + 1, args.size() - 1) if i >= 0 else []


func _init():
	var args := _user_args()
	if args.size() != 2:
		print("ERROR usage: -- server <port> | client <url>")
		quit()
		return
	mode = args[0]
	# Room for 1 MiB messages (sizes in KiB) and a 500-message burst.
	if mode == "server":
		server.set_buffers(2048, 4096, 2048, 4096)
		server.connect("client_connected", self, "_on_client_connected")
		server.connect("data_received", self, "_on_server_data")
		server.connect("client_close_request", self, "_on_client_close_request")
		server.connect("client_disconnected", self, "_on_client_disconnected")
		if server.listen(int(args[1])) != OK:
			print("ERROR listen")
			quit()
			return
		print("PORT %d" % int(args[1]))
	else:
		client.set_buffers(2048, 4096, 2048, 4096)
		client.connect("connection_established", self, "_on_open")
		client.connect("connection_error", self, "_on_error")
		client.connect("data_received", self, "_on_client_data")
		client.connect("server_close_request", self, "_on_server_close_request")
		client.connect("connection_closed", self, "_on_closed")
		if client.connect_to_url(args[1]) != OK:
			print("ERROR connect")
			quit()


func _idle(_delta):
	if mode == "server":
		server.poll()
	else:
		client.poll()
	return false


func _echo(p: WebSocketPeer, id: int) -> void:
	var data := p.get_packet()
	var text := p.was_string_packet()
	if text:
		var s := data.get_string_from_utf8()
		if s.begins_with("cmd:close:"):  # cmd:close:<code>:<reason>
			var parts := s.split(":", true, 3)
			if mode == "server":
				server.disconnect_peer(id, int(parts[2]), parts[3])
			else:
				client.disconnect_from_host(int(parts[2]), parts[3])
			return
	p.set_write_mode(WebSocketPeer.WRITE_MODE_TEXT if text else WebSocketPeer.WRITE_MODE_BINARY)
	p.put_packet(data)


func _on_server_data(id: int) -> void:
	var p := server.get_peer(id)
	while p.get_available_packet_count() > 0:
		_echo(p, id)


func _on_client_data() -> void:
	var p := client.get_peer(1)
	while p.get_available_packet_count() > 0:
		_echo(p, 1)


func _on_client_connected(_id: int, _protocol: String) -> void:
	print("OPEN")


func _on_open(_protocol: String) -> void:
	print("OPEN")


func _on_error() -> void:
	print("ERROR connection")
	quit()


func _on_client_close_request(_id: int, code: int, reason: String) -> void:
	print("CLOSED %d %s" % [code, reason])


func _on_server_close_request(code: int, reason: String) -> void:
	print("CLOSED %d %s" % [code, reason])


func _on_client_disconnected(_id: int, clean: bool) -> void:
	print("ENDED %s" % clean)


func _on_closed(clean: bool) -> void:
	print("ENDED %s" % clean)
	quit()
