extends "res://tests/test_base.gd"
## GoWebSocketMultiplayerPeer under Godot's high-level multiplayer: a server
## branch and two client branches of the scene tree in one engine, each with
## its own SceneMultiplayer, polled by pump(). Also interop with Godot's own
## WebSocketMultiplayerPeer both ways, bad input, and create/close cycles.

const Game = preload("res://tests/mp_game.gd")
const World = preload("res://demo/mp_world.gd")  # its make_player: a Node2D whose position a MultiplayerSynchronizer replicates

var _branches: Array[Node] = []
var _peers: Array = []  # every multiplayer peer a test made, closed in cleanup


func tree() -> SceneTree:
	return Engine.get_main_loop() as SceneTree


## A branch of the scene tree at /root/<name> with its own SceneMultiplayer
## using peer; returns its Game node.
func branch(name: String, peer: MultiplayerPeer) -> Node:
	var root := Node.new()
	root.name = name
	tree().root.add_child(root)
	var api := SceneMultiplayer.new()
	tree().set_multiplayer(api, root.get_path())
	api.multiplayer_peer = peer
	var game: Node = Game.new()
	game.name = "Game"
	root.add_child(game)
	var players := Node.new()
	players.name = "Players"
	root.add_child(players)
	var spawner := MultiplayerSpawner.new()
	spawner.name = "Spawner"
	spawner.spawn_path = NodePath("../Players")
	spawner.spawn_function = World.make_player
	root.add_child(spawner)
	_pollables.append(api)
	_branches.append(root)
	return game


func new_mp() -> GoWebSocketMultiplayerPeer:
	var p := GoWebSocketMultiplayerPeer.new()
	_peers.append(p)
	return p


func our_server() -> GoWebSocketMultiplayerPeer:
	var s := new_mp()
	eq(s.create_server(0, "127.0.0.1"), OK, "create_server")
	check(s.get_listen_port() > 0, "no listen port")
	return s


func our_client(port: int) -> GoWebSocketMultiplayerPeer:
	var c := new_mp()
	eq(c.create_client("ws://127.0.0.1:%d/" % port), OK, "create_client")
	return c


func godot_peer() -> WebSocketMultiplayerPeer:
	var p := WebSocketMultiplayerPeer.new()
	# Godot's defaults (64 KiB) are too small for the 200 KiB argument.
	p.inbound_buffer_size = 1 << 20
	p.outbound_buffer_size = 1 << 20
	_peers.append(p)
	return p


## A port nothing listens on right now.
func free_port() -> int:
	var t := TCPServer.new()
	t.listen(0, "127.0.0.1")
	var port := t.get_local_port()
	t.stop()
	return port


func cleanup() -> void:
	# The branches go first, while their SceneMultiplayer and peer still work.
	for root in _branches:
		var path := root.get_path()
		var api := tree().get_multiplayer(path)
		root.free()
		api.multiplayer_peer = null
		tree().set_multiplayer(null, path)
	for p in _peers:
		p.close()
	_branches.clear()
	_peers.clear()
	super.cleanup()


## The whole high-level scenario with server peer sp and client peers ap, bp
## (any mix of ours and Godot's own).
func scenario(sp: MultiplayerPeer, ap: MultiplayerPeer, bp: MultiplayerPeer) -> bool:
	var s := branch("mp_server", sp)
	var a := branch("mp_a", ap)
	var b := branch("mp_b", bp)
	var sapi := s.multiplayer
	var aapi := a.multiplayer
	var bapi := b.multiplayer
	var alog := []
	var blog := []
	var slog := []
	aapi.connected_to_server.connect(func(): alog.append("connected"))
	aapi.peer_disconnected.connect(func(id): alog.append(["left", id]))
	aapi.server_disconnected.connect(func(): alog.append("server_disconnected"))
	bapi.connected_to_server.connect(func(): blog.append("connected"))
	sapi.peer_connected.connect(func(id): slog.append(["joined", id]))
	sapi.peer_disconnected.connect(func(id): slog.append(["left", id]))
	var all_see := func(): return sapi.get_peers().size() == 2 and aapi.get_peers().size() == 2 and bapi.get_peers().size() == 2
	if not check(pump(all_see), "peers did not all connect (server sees %s, a %s, b %s)" % [sapi.get_peers(), aapi.get_peers(), bapi.get_peers()]):
		return false
	var ida := aapi.get_unique_id()
	var idb := bapi.get_unique_id()
	check(ida >= 2 and idb >= 2 and ida != idb, "client ids %d, %d" % [ida, idb])
	eq(sapi.get_unique_id(), 1, "server id")
	eq(alog, ["connected"], "connected_to_server on a")
	eq(blog, ["connected"], "connected_to_server on b")
	eq(ap.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED, "client status")
	check(sapi.get_peers().has(ida) and sapi.get_peers().has(idb), "server's peers are the clients' ids")
	check(aapi.get_peers().has(idb) and bapi.get_peers().has(ida), "clients see each other through the server relay")

	# Client -> server, with the sender's id.
	a.rpc_id(1, "hello", "from a")
	b.rpc_id(1, "hello", "from b")
	check(pump(func(): return s.find("hello").size() == 2), "client->server RPCs did not arrive")
	check(s.find("hello").has(["hello", ida, "from a"]), "server got %s" % [s.calls])
	check(s.find("hello").has(["hello", idb, "from b"]), "server got %s" % [s.calls])

	# Server -> all, then server -> one.
	s.rpc("from_server", "to all")
	check(pump(func(): return a.find("from_server").size() == 1 and b.find("from_server").size() == 1), "server->all RPC did not arrive")
	eq(a.find("from_server"), [["from_server", 1, "to all"]], "a got the broadcast from 1")
	s.rpc_id(ida, "from_server", "only a")
	check(pump(func(): return a.find("from_server").size() == 2), "rpc_id to a did not arrive")
	pump_for(50)
	eq(b.find("from_server").size(), 1, "rpc_id(a) also reached b")

	# Client -> client, relayed by the server.
	a.rpc_id(idb, "hello", "a to b")
	check(pump(func(): return b.find("hello").size() == 1), "a->b RPC did not arrive")
	eq(b.find("hello"), [["hello", ida, "a to b"]], "b got a's RPC with a's id")
	eq(s.find("hello").size(), 2, "the relayed RPC also ran on the server")

	# 300 reliable RPCs, complete and in order.
	for i in 300:
		a.rpc_id(1, "count", i)
	check(pump(func(): return s.counts.size() >= 300), "only %d of 300 RPCs arrived" % s.counts.size())
	var want := PackedInt32Array()
	for i in 300:
		want.append(i)
	eq(s.counts, want, "300 RPCs in order")

	# A 200 KiB argument.
	var data := PackedByteArray()
	data.resize(200 * 1024)
	for i in data.size():
		data[i] = (i * 7 + 3) % 256
	b.rpc_id(1, "big", data)
	check(pump(func(): return s.find("big").size() == 1), "200 KiB RPC did not arrive")
	eq(s.find("big"), [["big", idb, [data.size(), hash(data)]]], "200 KiB argument intact")

	# Unreliable: delivered all the same (TCP).
	a.rpc_id(1, "unreliable", 7)
	check(pump(func(): return s.find("unreliable").size() == 1), "unreliable RPC did not arrive")
	eq(s.find("unreliable"), [["unreliable", ida, 7]], "unreliable RPC")

	# MultiplayerSpawner + MultiplayerSynchronizer.
	var player: Node2D = s.get_node("../Spawner").spawn(5)
	var start := player.position
	var seen := func(g: Node, pos: Vector2) -> bool:
		var ps := g.get_node("../Players")
		return ps.get_child_count() == 1 and (ps.get_child(0) as Node2D).position == pos
	check(pump(func(): return seen.call(a, start) and seen.call(b, start)), "spawned player did not appear on the clients")
	player.position = Vector2(42, 7)
	check(pump(func(): return seen.call(a, Vector2(42, 7)) and seen.call(b, Vector2(42, 7))), "synchronized position did not reach the clients")
	if a.get_node("../Players").get_child_count() == 1:
		eq(String(a.get_node("../Players").get_child(0).name), String(player.name), "spawned node name")

	# A client leaves: the server and the other client see its id go. With
	# ours on both ends, the client's last RPC, sent just before close(), runs
	# before peer_disconnected (Godot's server drops what a closed peer sent).
	var hellos_before_left := [-1]
	sapi.peer_disconnected.connect(func(_id): hellos_before_left[0] = s.find("hello").size())
	var ours_leaving := bp is GoWebSocketMultiplayerPeer and sp is GoWebSocketMultiplayerPeer
	if ours_leaving:
		b.rpc_id(1, "hello", "bye")
	bp.close()
	check(pump(func(): return slog.has(["left", idb]) and alog.has(["left", idb])), "b's leaving not seen (server %s, a %s)" % [slog, alog])
	if ours_leaving:
		eq(s.find("hello").back(), ["hello", idb, "bye"], "b's last RPC")
		eq(hellos_before_left[0], 3, "RPCs run when peer_disconnected came")
	eq(sapi.get_peers(), PackedInt32Array([ida]), "server's peers after b left")

	# The server closes: a sees server_disconnected.
	sp.close()
	check(pump(func(): return alog.has("server_disconnected")), "server_disconnected not seen on a: %s" % [alog])
	eq(ap.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "a's status after the server closed")
	return true


func test_multiplayer_class() -> bool:
	check(ClassDB.is_parent_class("GoWebSocketMultiplayerPeer", "MultiplayerPeer"), "not a MultiplayerPeer")
	for m in ["create_server", "create_client", "get_listen_port", "get_peer", "get_peer_address", "get_peer_port", "get_stats"]:
		check(ClassDB.class_has_method("GoWebSocketMultiplayerPeer", m), "lacks " + m)
	var p := GoWebSocketMultiplayerPeer.new()
	for prop in ["supported_protocols", "handshake_headers", "inbound_buffer_size", "outbound_buffer_size",
			"handshake_timeout", "max_queued_packets", "verify_tls", "trusted_tls_certificate", "tls_certificate",
			"tls_key", "heartbeat_interval", "pong_timeout", "compression_enabled", "allowed_origins",
			"max_connections", "proxy_url"]:
		check(prop in p, "lacks property " + prop)
	eq(p.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "status before create")
	eq(p.get_unique_id(), 0, "id before create")
	eq(p.is_server_relay_supported(), true, "server relay")
	eq(p.get_available_packet_count(), 0, "packets before create")
	p.supported_protocols = PackedStringArray(["game"])
	eq(p.supported_protocols, PackedStringArray(["game"]), "supported_protocols set")
	p.handshake_headers = PackedStringArray(["X-Room: 7"])
	p.handshake_headers = PackedStringArray(["bad header"])  # refused with an engine error
	eq(p.handshake_headers, PackedStringArray(["X-Room: 7"]), "a bad header line was accepted")
	p.transfer_mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
	eq(p.transfer_mode, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE, "transfer_mode kept")
	p.refuse_new_connections = true
	eq(p.refuse_new_connections, true, "refuse_new_connections kept")
	return true


func test_scene_multiplayer_ours_both_sides() -> bool:
	var sp := our_server()
	var port := sp.get_listen_port()
	return scenario(sp, our_client(port), our_client(port))


func test_godot_clients_on_our_server() -> bool:
	var sp := our_server()
	var url := "ws://127.0.0.1:%d/" % sp.get_listen_port()
	var ap := godot_peer()
	var bp := godot_peer()
	eq(ap.create_client(url), OK, "Godot create_client")
	eq(bp.create_client(url), OK, "Godot create_client")
	return scenario(sp, ap, bp)


func test_our_clients_on_godot_server() -> bool:
	var sp := godot_peer()
	var port := free_port()
	eq(sp.create_server(port, "127.0.0.1"), OK, "Godot create_server")
	return scenario(sp, our_client(port), our_client(port))


func test_mixed_clients_and_peer_details() -> bool:
	var sp := our_server()
	sp.supported_protocols = PackedStringArray(["game"])
	var port := sp.get_listen_port()
	sp.close()
	eq(sp.create_server(port, "127.0.0.1"), OK, "create_server on the same port right after close")
	eq(sp.get_listen_port(), port, "listen port")
	var ours := new_mp()
	ours.supported_protocols = PackedStringArray(["game"])
	eq(ours.create_client("ws://127.0.0.1:%d/" % port), OK, "create_client")
	var godots := godot_peer()
	godots.supported_protocols = PackedStringArray(["game"])
	eq(godots.create_client("ws://127.0.0.1:%d/" % port), OK, "Godot create_client")
	_pollables.append_array([sp, ours, godots])
	var joined := []
	sp.peer_connected.connect(func(id): joined.append(id))
	check(pump(func(): return joined.size() == 2 and ours.get_connection_status() == 2 and godots.get_connection_status() == 2), "clients did not connect")
	check(joined.has(ours.get_unique_id()) and joined.has(godots.get_unique_id()), "peer_connected ids %s" % [joined])
	var id := ours.get_unique_id()
	eq(sp.get_peer_address(id), "127.0.0.1", "get_peer_address")
	check(sp.get_peer_port(id) > 0, "get_peer_port")
	var wp: GoWebSocketPeer = sp.get_peer(id)
	check(wp != null and wp.get_selected_protocol() == "game", "get_peer returns the GoWebSocketPeer with the protocol")
	eq(sp.get_stats()["peers"], 2, "server stats peers")
	# Raw packets through the MultiplayerPeer API, with the sender's id.
	ours.set_target_peer(1)
	eq(ours.put_packet(PackedByteArray([1, 2, 3])), OK, "client put_packet")
	check(pump(func(): return sp.get_available_packet_count() == 1), "packet did not arrive")
	eq(sp.get_packet_peer(), id, "get_packet_peer")
	eq(sp.get_packet(), PackedByteArray([1, 2, 3]), "packet")
	sp.set_target_peer(-id)  # everyone but ours
	eq(sp.put_packet(PackedByteArray([9])), OK, "server put_packet to all but one")
	check(pump(func(): return godots.get_available_packet_count() == 1), "packet to Godot's client did not arrive")
	pump_for(50)
	eq(ours.get_available_packet_count(), 0, "the excluded peer got the packet")
	# Disconnect a peer (no force): peer_disconnected comes from poll.
	var left := []
	sp.peer_disconnected.connect(func(i): left.append(i))
	var gid := godots.get_unique_id()
	sp.disconnect_peer(gid)
	check(pump(func(): return left == [gid]), "peer_disconnected after disconnect_peer(%d): %s" % [gid, left])
	eq(godots.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "Godot's client after disconnect_peer")
	# Forced: dropped at once, no signal.
	sp.disconnect_peer(id, true)
	pump_for(100)
	eq(left.size(), 1, "forced disconnect_peer emitted peer_disconnected")
	eq(ours.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "our client after a forced disconnect_peer")
	for s in ["peer_connected", "peer_disconnected"]:
		for c in sp.get_signal_connection_list(s):
			sp.disconnect(s, c["callable"])
	return true


func test_refused_port_and_refuse_new_connections() -> bool:
	# Nothing listening: connection_failed.
	var failed := []
	var cp := new_mp()
	eq(cp.create_client("ws://127.0.0.1:%d/" % free_port()), OK, "create_client")
	var c := branch("mp_refused", cp)
	c.multiplayer.connection_failed.connect(func(): failed.append("a"))
	check(pump(func(): return failed.size() == 1), "no connection_failed for a refused port")
	eq(cp.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "status after refused port")
	# refuse_new_connections: the client fails, the server sees nobody.
	var sp := our_server()
	var s := branch("mp_refusing", sp)
	sp.refuse_new_connections = true
	var joined := []
	s.multiplayer.peer_connected.connect(func(id): joined.append(id))
	var rp := our_client(sp.get_listen_port())
	var r := branch("mp_refused2", rp)
	r.multiplayer.connection_failed.connect(func(): failed.append("b"))
	check(pump(func(): return failed.size() == 2), "refused client did not fail")
	var gp := godot_peer()
	eq(gp.create_client("ws://127.0.0.1:%d/" % sp.get_listen_port()), OK, "Godot create_client")
	var g := branch("mp_refused3", gp)
	g.multiplayer.connection_failed.connect(func(): failed.append("c"))
	check(pump(func(): return failed.size() == 3), "refused Godot client did not fail")
	eq(joined, [], "a refused client joined")
	# Accepting again.
	sp.refuse_new_connections = false
	var ok_peer := our_client(sp.get_listen_port())
	branch("mp_accepted", ok_peer)
	check(pump(func(): return joined.size() == 1), "client not accepted after refuse_new_connections = false")
	# max_connections: the one over it fails before the upgrade (HTTP 503).
	var lp := new_mp()
	lp.max_connections = 1
	eq(lp.create_server(0, "127.0.0.1"), OK, "create_server with max_connections")
	var l := branch("mp_limited", lp)
	var first := our_client(lp.get_listen_port())
	branch("mp_first", first)
	check(pump(func(): return l.multiplayer.get_peers().size() == 1), "first client not in")
	var second := our_client(lp.get_listen_port())
	var sb := branch("mp_second", second)
	sb.multiplayer.connection_failed.connect(func(): failed.append("d"))
	check(pump(func(): return failed.size() == 4), "a client over max_connections did not fail")
	eq(l.multiplayer.get_peers().size(), 1, "peers with max_connections = 1")
	return true


func test_client_fails_without_a_valid_id() -> bool:
	# A plain WebSocket server that never sends an id: connection_failed after handshake_timeout.
	var raw := new_server()
	var cp := new_mp()
	cp.handshake_timeout = 0.3
	eq(cp.create_client(url(raw)), OK, "create_client")
	_pollables.append(cp)
	eq(cp.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTING, "connecting")
	check(pump(func(): return raw.get_peer_ids().size() == 1), "did not reach the raw server")
	eq(cp.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTING, "still connecting without an id")
	check(pump(func(): return cp.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, 3000), "no failure without an id")
	# handshake_timeout 0 means the default (3 s), not "fail at once".
	var cp0 := new_mp()
	cp0.handshake_timeout = 0.0
	eq(cp0.create_client(url(raw)), OK, "create_client with handshake_timeout 0")
	_pollables.append(cp0)
	pump_for(100)
	eq(cp0.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTING, "handshake_timeout 0 failed at once")
	cp0.close()
	# A server that sends an invalid id (1).
	var cp2 := new_mp()
	eq(cp2.create_client(url(raw)), OK, "create_client")
	_pollables.append(cp2)
	var ids := [0]
	raw.client_connected.connect(func(id, _p): ids[0] = id)
	check(pump(func(): return ids[0] != 0), "second client did not reach the raw server")
	raw.get_peer(ids[0]).send(PackedByteArray([1, 0, 0, 0]))
	check(pump(func(): return cp2.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, 3000), "an invalid id was accepted")
	eq(cp2.get_unique_id(), 0, "id after an invalid one")
	return true


func test_bad_input() -> bool:
	var p := new_mp()
	for bad in ["", "not a url", "http://127.0.0.1/", "ftp://x/", "ws://"]:
		eq(p.create_client(bad), ERR_INVALID_PARAMETER, "create_client(%s)" % bad)
	eq(p.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "status after a bad URL")
	eq(p.create_server(70000), ERR_INVALID_PARAMETER, "port out of range")
	eq(p.put_packet(PackedByteArray([1])), ERR_UNCONFIGURED, "put_packet before connecting")
	var c := new_mp()
	eq(c.create_client("ws://127.0.0.1:%d/" % free_port()), OK, "create_client")
	eq(c.put_packet(PackedByteArray([1])), ERR_UNCONFIGURED, "put_packet while connecting")
	eq(c.create_server(0), ERR_ALREADY_IN_USE, "create_server on a connecting client")
	var s := new_mp()
	s.outbound_buffer_size = 1024
	eq(s.create_server(0, "127.0.0.1"), OK, "create_server")
	eq(s.create_server(0, "127.0.0.1"), ERR_ALREADY_IN_USE, "create_server twice")
	eq(s.create_client("ws://127.0.0.1:1/"), ERR_ALREADY_IN_USE, "create_client on a server")
	s.set_target_peer(99)
	eq(s.put_packet(PackedByteArray([1])), ERR_INVALID_PARAMETER, "put_packet to an unknown peer")
	s.set_target_peer(0)
	var big := PackedByteArray()
	big.resize(2000)
	eq(s.put_packet(big), ERR_OUT_OF_MEMORY, "packet over the limit")
	s.outbound_buffer_size = 4096  # read at create time: the limit stays
	eq(s.put_packet(big), ERR_OUT_OF_MEMORY, "packet over the limit the server was made with")
	var z := new_mp()
	z.outbound_buffer_size = 0  # the default (4 MiB)
	eq(z.create_server(0, "127.0.0.1"), OK, "create_server")
	eq(z.put_packet(big), OK, "outbound_buffer_size 0 is the default limit, not 0")
	check(s.get_peer(99) == null, "get_peer of an unknown id")
	eq(s.get_peer_address(99), "", "get_peer_address of an unknown id")
	s.disconnect_peer(99)
	eq(s.get_packet(), PackedByteArray(), "get_packet with nothing waiting")
	s.close()
	eq(s.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "status after close")
	eq(s.get_unique_id(), 0, "id after close")
	s.close()  # twice is harmless
	return true


func test_create_connect_close_cycles() -> bool:
	for i in 30:
		var s := GoWebSocketMultiplayerPeer.new()
		var c := GoWebSocketMultiplayerPeer.new()
		if not eq(s.create_server(0, "127.0.0.1"), OK, "cycle %d create_server" % i):
			return false
		eq(c.create_client("ws://127.0.0.1:%d/" % s.get_listen_port()), OK, "cycle %d create_client" % i)
		var joined := [0]
		s.peer_connected.connect(func(id): joined[0] = id)
		var ok := pump(func():
			s.poll()
			c.poll()
			return joined[0] != 0 and c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED)
		if not check(ok, "cycle %d did not connect" % i):
			return false
		eq(joined[0], c.get_unique_id(), "cycle %d ids" % i)
		if i % 2 == 0:
			c.close()
			s.close()
		# odd cycles: dropped without close(): freeing closes them
		for conn in s.get_signal_connection_list("peer_connected"):
			s.disconnect("peer_connected", conn["callable"])
	return true


func test_tls_protocols_and_headers() -> bool:
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := crypto.generate_self_signed_certificate(key, "CN=localhost")
	var sp := new_mp()
	sp.tls_certificate = cert
	sp.tls_key = key
	sp.supported_protocols = PackedStringArray(["game-v2"])
	eq(sp.create_server(0, "127.0.0.1"), OK, "wss create_server")
	var wss := "wss://localhost:%d/" % sp.get_listen_port()
	var ours := new_mp()
	ours.trusted_tls_certificate = cert
	ours.supported_protocols = PackedStringArray(["game-v2"])
	eq(ours.create_client(wss), OK, "wss create_client")
	var godots := godot_peer()
	godots.supported_protocols = PackedStringArray(["game-v2"])
	eq(godots.create_client(wss, TLSOptions.client(cert)), OK, "Godot wss create_client")
	var untrusting := new_mp()
	eq(untrusting.create_client(wss), OK, "create_client without trusting the certificate")
	_pollables.append_array([sp, ours, godots, untrusting])
	var ok := pump(func(): return ours.get_connection_status() == 2 and godots.get_connection_status() == 2 \
		and untrusting.get_connection_status() == 0)
	check(ok, "wss: ours %d, Godot's %d, untrusting %d" % [ours.get_connection_status(), godots.get_connection_status(), untrusting.get_connection_status()])
	if ok:
		eq(sp.get_peer(ours.get_unique_id()).get_selected_protocol(), "game-v2", "protocol (ours)")
		eq(sp.get_peer(godots.get_unique_id()).get_selected_protocol(), "game-v2", "protocol (Godot's)")
		eq(ours.get_peer(1).get_selected_protocol(), "game-v2", "protocol seen by our client")
		check(ours.get_stats()["bytes_in"] >= 4, "client stats count the id message")
	# handshake_headers go with our client's upgrade request.
	var raw := new_server()
	var hp := new_mp()
	hp.handshake_headers = PackedStringArray(["X-Room: 7", "Authorization: Bearer t0k"])
	eq(hp.create_client(url(raw, "/lobby?x=1")), OK, "create_client with headers")
	_pollables.append(hp)
	check(pump(func(): return raw.get_peer_ids().size() == 1), "did not reach the raw server")
	if raw.get_peer_ids().size() == 1:
		var req := raw.get_peer_request(raw.get_peer_ids()[0])
		eq(req["headers"].get("x-room"), "7", "X-Room header")
		eq(req["headers"].get("authorization"), "Bearer t0k", "Authorization header")
		eq(req["path"], "/lobby", "path")
	return true


func test_scene_multiplayer_disconnect_peer() -> bool:
	# SceneMultiplayer.disconnect_peer forgets the peer itself, then asks the
	# transport to close it; the kicked client sees server_disconnected. What
	# the server's MultiplayerAPI emits must match Godot's own peer.
	var ours := kick(our_server(), 0)
	var port := free_port()
	var gp := godot_peer()
	eq(gp.create_server(port, "127.0.0.1"), OK, "Godot create_server")
	var godots := kick(gp, port)
	eq(ours, godots, "server-side signals (ours, Godot's)")
	return true


## Kicks a client of sp through SceneMultiplayer; returns [peer_disconnected ids, peers left].
func kick(sp: MultiplayerPeer, port: int) -> Array:
	var tag := str(_branches.size())
	var s := branch("mp_kick_server" + tag, sp)
	var cp := our_client(sp.get_listen_port() if sp is GoWebSocketMultiplayerPeer else port)
	var c := branch("mp_kick_client" + tag, cp)
	var left := []
	var gone := []
	s.multiplayer.peer_disconnected.connect(func(id): left.append(id))
	c.multiplayer.server_disconnected.connect(func(): gone.append(true))
	check(pump(func(): return s.multiplayer.get_peers().size() == 1 and c.multiplayer.get_peers().size() == 1), "client did not connect")
	var id := cp.get_unique_id()
	s.multiplayer.disconnect_peer(id)
	check(pump(func(): return gone.size() == 1), "kicked client did not see server_disconnected")
	pump_for(100)
	return [left.map(func(x): return x == id), s.multiplayer.get_peers()]


func test_scene_multiplayer_manual_handshake_and_drain() -> bool:
	# handshake_mode MANUAL and drain() under SceneMultiplayer, with our client
	# and Godot's: a player exists for the MultiplayerAPI only once accepted;
	# a drain sends everyone away with server_disconnected on their side.
	var sp := new_mp()
	sp.handshake_mode = GoWebSocketMultiplayerPeer.HANDSHAKE_MODE_MANUAL
	eq(sp.create_server(0, "127.0.0.1"), OK, "create_server")
	var port := sp.get_listen_port()
	var asked := []
	sp.client_handshake.connect(func(id: int, request: Dictionary):
		asked.append(id)
		if request["headers"].get("authorization", "") == "Bearer good":
			eq(sp.accept_peer(id), OK, "accept_peer")
		else:
			eq(sp.reject_peer(id, 401, "bad token"), OK, "reject_peer"))
	var drained := []
	sp.drained.connect(func(): drained.append(true))
	var good := PackedStringArray(["Authorization: Bearer good"])
	var ap := new_mp()
	ap.handshake_headers = good
	eq(ap.create_client("ws://127.0.0.1:%d" % port), OK, "our create_client")
	var bp := godot_peer()
	bp.handshake_headers = good
	eq(bp.create_client("ws://127.0.0.1:%d" % port), OK, "Godot's create_client")
	var xp := godot_peer()
	xp.handshake_headers = PackedStringArray(["Authorization: Bearer bad"])
	eq(xp.create_client("ws://127.0.0.1:%d" % port), OK, "Godot's create_client (bad token)")
	var s := branch("mp_manual_server", sp)
	var a := branch("mp_manual_a", ap)
	var b := branch("mp_manual_b", bp)
	var x := branch("mp_manual_x", xp)
	var slog := []
	s.multiplayer.peer_connected.connect(func(id): slog.append(["joined", id]))
	s.multiplayer.peer_disconnected.connect(func(id): slog.append(["left", id]))
	var failed := []
	x.multiplayer.connection_failed.connect(func(): failed.append(true))
	var gone := []
	a.multiplayer.server_disconnected.connect(func(): gone.append("a"))
	b.multiplayer.server_disconnected.connect(func(): gone.append("b"))
	var all_see := func(): return s.multiplayer.get_peers().size() == 2 and a.multiplayer.get_peers().size() == 2 \
		and b.multiplayer.get_peers().size() == 2 and failed.size() == 1
	if not check(pump(all_see), "accepted peers did not connect or the rejected one did not fail (server sees %s, failed %s)" % [s.multiplayer.get_peers(), failed]):
		return false
	var ida := a.multiplayer.get_unique_id()
	var idb := b.multiplayer.get_unique_id()
	eq(asked.size(), 3, "client_handshake for every client")
	check(asked.has(ida) and asked.has(idb), "the clients' ids are their handshake ids: %s, %d, %d" % [asked, ida, idb])
	eq(slog.size(), 2, "peer_connected only for the accepted clients: %s" % [slog])
	eq(xp.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED, "rejected client disconnected")
	# RPCs both ways and relayed.
	a.rpc_id(1, "hello", "from a")
	s.rpc_id(idb, "from_server", "to b")
	a.rpc_id(idb, "hello", "a to b")
	check(pump(func(): return s.find("hello").size() == 1 and b.find("from_server").size() == 1 and b.find("hello").size() == 1), "RPCs did not arrive")
	eq(s.find("hello"), [["hello", ida, "from a"]], "server got a's RPC")
	eq(b.find("hello"), [["hello", ida, "a to b"]], "b got a's relayed RPC")
	# Drain: both clients are sent away.
	eq(sp.drain(0.2), OK, "drain")
	check(pump(func(): return drained.size() == 1), "drained not emitted")
	check(pump(func(): return gone.size() == 2), "clients did not see server_disconnected: %s" % [gone])
	eq(slog.filter(func(e): return e[0] == "left").size(), 2, "peer_disconnected for both clients: %s" % [slog])
	eq(s.multiplayer.get_peers(), PackedInt32Array(), "no peers left on the server")
	return true
