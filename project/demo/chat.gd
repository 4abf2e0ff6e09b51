extends Control
## Chat demo: this scene runs a GoWebSocketServer and two GoWebSocketClients.
## The server relays every message to every client; each client shows what
## it receives. Type in the box and press Send (or Enter) to talk as "you".

@onready var log_view: Label = $VBox/Log
@onready var input: LineEdit = $VBox/HBox/Input

var server := GoWebSocketServer.new()
var clients: Array[GoWebSocketClient] = []
var names := ["you", "bot"]


func _ready() -> void:
	var err := server.listen(0, PackedStringArray(["chat"]), "127.0.0.1")
	if err != OK:
		_show("server: listen failed (%s)" % error_string(err))
		return
	server.client_connected.connect(func(id, proto): _show("server: peer %d joined (%s)" % [id, proto]))
	server.client_disconnected.connect(func(id, clean): _show("server: peer %d left (clean: %s)" % [id, clean]))
	server.data_received.connect(_relay)
	_show("server: listening on port %d" % server.get_listen_port())
	for i in names.size():
		var c := GoWebSocketClient.new()
		# Bind the index, not the client: a handler holding its own emitter
		# would be a reference cycle.
		c.connection_established.connect(func(_proto): _on_connected(i))
		c.data_received.connect(func(): _on_data(i))
		c.connect_to_url("ws://127.0.0.1:%d/chat" % server.get_listen_port(), PackedStringArray(["chat"]))
		clients.append(c)
	$VBox/HBox/Send.pressed.connect(_send_typed)
	input.text_submitted.connect(func(_t): _send_typed())


func _process(_delta: float) -> void:
	server.poll()
	for c in clients:
		c.poll()


func _relay(id: int) -> void:
	var p := server.get_peer(id)
	while p.get_available_packet_count() > 0:
		server.broadcast(p.get_packet(), GoWebSocketPeer.WRITE_MODE_TEXT)


func _on_connected(i: int) -> void:
	clients[i].get_peer(1).send_text("%s: hello!" % names[i])


func _on_data(i: int) -> void:
	var p := clients[i].get_peer(1)
	while p.get_available_packet_count() > 0:
		var line := p.get_packet().get_string_from_utf8()
		if i == 0:
			_show(line)


func _send_typed() -> void:
	if input.text.strip_edges() != "" and clients.size() > 0:
		clients[0].get_peer(1).send_text("you: " + input.text)
		input.clear()


func _show(line: String) -> void:
	print(line)
	if log_view:
		log_view.text += line + "\n"


func _exit_tree() -> void:
	for c in clients:
		c.disconnect_from_host()
	server.stop()
