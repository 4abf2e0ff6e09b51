extends "res://tests/test_base.gd"
## GoWebSocketServer behind infrastructure: trusted_proxies, proxy_protocol,
## health_path, drain() / drained, handshake_mode MANUAL with client_handshake,
## accept_peer and reject_peer.

func http_status(port: int, path: String) -> int:
	var r := raw_request(port, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path)
	r[0].disconnect_from_host()
	var line: String = r[1].get_slice("\r\n", 0)
	return int(line.get_slice(" ", 1)) if line.begins_with("HTTP/1.1 ") else -1


func test_infra_properties_signals_and_constants() -> bool:
	eq(GoWebSocketServer.HANDSHAKE_MODE_AUTO, 0, "HANDSHAKE_MODE_AUTO")
	eq(GoWebSocketServer.HANDSHAKE_MODE_MANUAL, 1, "HANDSHAKE_MODE_MANUAL")
	for sig in ["client_handshake", "drained"]:
		check(ClassDB.class_has_signal("GoWebSocketServer", sig), "signal " + sig)
	for m in ["drain", "is_draining", "accept_peer", "reject_peer"]:
		check(ClassDB.class_has_method("GoWebSocketServer", m), "method " + m)
	var s := GoWebSocketServer.new()
	eq(s.trusted_proxies, PackedStringArray(), "trusted_proxies default")
	eq(s.proxy_protocol, false, "proxy_protocol default")
	eq(s.health_path, "", "health_path default")
	eq(s.handshake_mode, GoWebSocketServer.HANDSHAKE_MODE_AUTO, "handshake_mode default")
	s.trusted_proxies = PackedStringArray(["10.0.0.0/8", "::1"])
	s.proxy_protocol = true
	s.health_path = "/healthz"
	s.handshake_mode = GoWebSocketServer.HANDSHAKE_MODE_MANUAL
	eq(s.trusted_proxies, PackedStringArray(["10.0.0.0/8", "::1"]), "trusted_proxies set")
	eq(s.proxy_protocol, true, "proxy_protocol set")
	eq(s.health_path, "/healthz", "health_path set")
	eq(s.handshake_mode, 1, "handshake_mode set")
	s.handshake_mode = 7  # refused with an engine error, not stored
	eq(s.handshake_mode, 1, "a bad handshake_mode is not stored")
	eq(s.drain(1.0), ERR_UNCONFIGURED, "drain before listen")
	eq(s.accept_peer(1), ERR_UNCONFIGURED, "accept_peer before listen")
	# Bad values are refused by listen.
	s.trusted_proxies = PackedStringArray(["not an address"])
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), ERR_INVALID_PARAMETER, "listen with a bad trusted proxy")
	s.trusted_proxies = PackedStringArray()
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), ERR_INVALID_PARAMETER, "proxy_protocol without trusted_proxies")
	eq(s.is_listening(), false, "not listening after refused listens")
	return true


func test_infra_forwarded_address_only_from_trusted_proxies() -> bool:
	var spoof := PackedStringArray(["X-Forwarded-For: 6.6.6.6, 203.0.113.7"])
	var s := GoWebSocketServer.new()
	s.trusted_proxies = PackedStringArray(["127.0.0.1"])
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var c := new_client()
	c.connect_to_url(url(s, "/play?x=1"), PackedStringArray(), spoof)
	check(pump(func(): return c.get_connection_status() == 2 and s.get_peer_ids().size() == 1), "connect")
	var id: int = s.get_peer_ids()[0]
	eq(s.get_peer_address(id), "203.0.113.7", "address from the trusted proxy's X-Forwarded-For (right-most)")
	eq(s.get_peer_port(id), 0, "port unknown from X-Forwarded-For")
	var req := s.get_peer_request(id)
	eq(req.get("address"), "203.0.113.7", "request address")
	eq(req.get("port"), 0, "request port")
	eq(req.get("path"), "/play", "request path")

	var u := GoWebSocketServer.new()
	u.trusted_proxies = PackedStringArray(["10.0.0.0/8"])
	eq(u.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(u)
	var c2 := new_client()
	c2.connect_to_url(url(u), PackedStringArray(), spoof)
	check(pump(func(): return c2.get_connection_status() == 2 and u.get_peer_ids().size() == 1), "connect")
	var id2: int = u.get_peer_ids()[0]
	eq(u.get_peer_address(id2), "127.0.0.1", "spoofed header from an untrusted peer ignored")
	check(u.get_peer_port(id2) > 0, "the TCP peer's port")
	eq(u.get_peer_request(id2).get("address"), "127.0.0.1", "request address of an untrusted peer")
	return true


func test_infra_proxy_protocol() -> bool:
	var s := GoWebSocketServer.new()
	s.trusted_proxies = PackedStringArray(["127.0.0.1"])
	s.proxy_protocol = true
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var header := "PROXY TCP4 203.0.113.7 10.0.0.1 5123 80\r\n".to_ascii_buffer()
	var r := raw_request(s.get_listen_port(), "GET / HTTP/1.1\r\nHost: x\r\n" + UPGRADE + "\r\n", header)
	check(r[1].begins_with("HTTP/1.1 101"), "upgrade after a PROXY v1 header: " + r[1].get_slice("\r\n", 0))
	check(pump(func(): return s.get_peer_ids().size() == 1), "peer after PROXY header")
	if s.get_peer_ids().size() == 1:
		var id: int = s.get_peer_ids()[0]
		eq(s.get_peer_address(id), "203.0.113.7", "address from the PROXY header")
		eq(s.get_peer_port(id), 5123, "port from the PROXY header")
	r[0].disconnect_from_host()
	# A client without the header is refused (an engine error says why).
	var c := new_client()
	var log := record(c)
	c.connect_to_url(url(s))
	check(pump(func(): return not log.is_empty()), "no outcome for a client without PROXY header")
	eq(names(log), ["connection_error"], "a client without PROXY header is refused")
	# A malformed header too.
	var bad := raw_request(s.get_listen_port(), "GET / HTTP/1.1\r\nHost: x\r\n" + UPGRADE + "\r\n", "PROXY TCP4 1.2.3.999 x 1 2\r\n".to_ascii_buffer())
	check(not bad[1].begins_with("HTTP/1.1 101"), "malformed PROXY header upgraded")
	bad[0].disconnect_from_host()
	return true


func test_infra_health_path_and_drain() -> bool:
	var s := GoWebSocketServer.new()
	s.health_path = "/healthz"
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var slog := record(s)
	eq(http_status(s.get_listen_port(), "/healthz"), 200, "health while serving")
	var a = connect_pair(s)
	var b = connect_pair(s)
	var alog := record(a[0])
	var blog := record(b[0])
	eq(s.is_draining(), false, "not draining yet")
	eq(s.drain(-1.0), ERR_INVALID_PARAMETER, "negative drain timeout")
	var started := Time.get_ticks_msec()
	eq(s.drain(0.5), OK, "drain")
	eq(s.is_draining(), true, "draining")
	eq(http_status(s.get_listen_port(), "/healthz"), 503, "health while draining")
	# A new client is refused with 503.
	var late := new_client()
	var llog := record(late)
	late.connect_to_url(url(s))
	check(pump(func(): return not llog.is_empty()), "no outcome for a client while draining")
	eq(names(llog), ["connection_error"], "new upgrade refused while draining")
	# One peer finishes by itself; drained waits for the other.
	a[0].disconnect_from_host(1000, "done")
	check(pump(func(): return not s.has_peer(a[1])), "first peer gone")
	eq(names(slog).count("drained"), 0, "drained with a peer left")
	# At the timeout the rest get 1001.
	check(pump(func(): return names(slog).has("drained")), "drained() not emitted")
	check(Time.get_ticks_msec() - started >= 450, "drained before the timeout")
	eq(find(blog, "server_close_request"), ["server_close_request", 1001, "server draining"], "remaining peer closed with 1001")
	var disc := slog.filter(func(e): return e[0] == "client_disconnected")
	eq(disc.size(), 2, "both peers disconnected before drained")
	eq(names(slog).back(), "drained", "drained comes after the last client_disconnected")
	pump_for(100)
	eq(names(slog).count("drained"), 1, "drained once")
	eq(alog.filter(func(e): return e[0] == "server_close_request").size(), 0, "the peer that left by itself got no 1001")
	return true


func test_infra_manual_handshake_accept_and_reject() -> bool:
	var s := GoWebSocketServer.new()
	s.handshake_mode = GoWebSocketServer.HANDSHAKE_MODE_MANUAL
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var slog := record(s)
	var requests := {}
	# Answer inside the signal handler, from the token in the request.
	s.client_handshake.connect(func(id: int, request: Dictionary):
		requests[id] = request
		if request["headers"].get("authorization", "") == "Bearer good":
			eq(s.accept_peer(id), OK, "accept_peer")
		else:
			eq(s.reject_peer(id, 401, "bad token"), OK, "reject_peer"))
	var bad := new_client()
	var badlog := record(bad)
	bad.connect_to_url(url(s, "/join?room=3"), PackedStringArray(), PackedStringArray(["Authorization: Bearer bad"]))
	check(pump(func(): return not badlog.is_empty()), "no outcome for the bad token")
	eq(names(badlog), ["connection_error"], "bad token refused")
	var good := new_client()
	good.connect_to_url(url(s, "/join?room=3"), PackedStringArray(), PackedStringArray(["Authorization: Bearer good"]))
	check(pump(func(): return good.get_connection_status() == 2 and s.get_peer_ids().size() == 1), "good token connects")
	var hs := slog.filter(func(e): return e[0] == "client_handshake")
	eq(hs.size(), 2, "client_handshake per request")
	if hs.size() == 2:
		var bad_id: int = hs[0][1]
		var good_id: int = hs[1][1]
		check(bad_id > 0 and good_id > bad_id, "handshake ids positive and increasing: %d, %d" % [bad_id, good_id])
		eq(s.get_peer_ids(), PackedInt32Array([good_id]), "the accepted peer has its handshake id")
		eq(find(slog, "client_connected")[1], good_id, "client_connected with the handshake id")
		var req: Dictionary = requests[good_id]
		eq(req.get("path"), "/join", "request path")
		eq(req.get("query"), "room=3", "request query")
		eq(req.get("address"), "127.0.0.1", "request address")
		eq(s.accept_peer(bad_id), ERR_DOES_NOT_EXIST, "accept_peer of an answered handshake")
		eq(s.reject_peer(good_id, 200, ""), ERR_INVALID_PARAMETER, "reject_peer with a non-error status")
	return true


func test_infra_manual_handshake_timeout() -> bool:
	var s := GoWebSocketServer.new()
	s.handshake_mode = GoWebSocketServer.HANDSHAKE_MODE_MANUAL
	s.handshake_timeout = 0.3
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var slog := record(s)
	unanswered_handshake_refused(s, slog)
	eq(s.get_peer_ids().size(), 0, "no peer")
	return true


func test_infra_multiplayer_trusted_proxies_and_health() -> bool:
	var sp := GoWebSocketMultiplayerPeer.new()
	eq(sp.trusted_proxies, PackedStringArray(), "trusted_proxies default")
	eq(sp.proxy_protocol, false, "proxy_protocol default")
	sp.trusted_proxies = PackedStringArray(["127.0.0.1"])
	sp.health_path = "/healthz"
	eq(sp.create_server(0, "127.0.0.1"), OK, "create_server")
	var ids := []
	sp.peer_connected.connect(func(id): ids.append(id))
	var cp := GoWebSocketMultiplayerPeer.new()
	cp.handshake_headers = PackedStringArray(["X-Forwarded-For: 6.6.6.6, 203.0.113.7"])
	eq(cp.create_client("ws://127.0.0.1:%d" % sp.get_listen_port()), OK, "create_client")
	_pollables.append(sp)
	_pollables.append(cp)
	check(pump(func(): return ids.size() == 1 and cp.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED), "client connected")
	if ids.size() == 1:
		eq(sp.get_peer_address(ids[0]), "203.0.113.7", "multiplayer peer address from the trusted proxy's header")
		eq(sp.get_peer_port(ids[0]), 0, "multiplayer peer port (the header gives none)")
	eq(http_status(sp.get_listen_port(), "/healthz"), 200, "multiplayer health path")
	cp.close()
	sp.close()
	return true


# GoWebSocketMultiplayerPeer's server: the same drain and handshake_mode as
# GoWebSocketServer, with multiplayer ids and peer_connected / peer_disconnected.

var _mps: Array = []  # multiplayer peers (ours and Godot's) closed in cleanup


func cleanup() -> void:
	for p in _mps:
		p.close()
	_mps.clear()
	super.cleanup()


## A polled multiplayer peer of ours, closed in cleanup.
func mp() -> GoWebSocketMultiplayerPeer:
	var p := GoWebSocketMultiplayerPeer.new()
	_mps.append(p)
	_pollables.append(p)
	return p


func mp_server(manual := false) -> GoWebSocketMultiplayerPeer:
	var s := mp()
	if manual:
		s.handshake_mode = GoWebSocketMultiplayerPeer.HANDSHAKE_MODE_MANUAL
	eq(s.create_server(0, "127.0.0.1"), OK, "create_server")
	return s


## Godot's own WebSocketMultiplayerPeer as a client of port, polled.
func godot_mp_client(port: int, headers := PackedStringArray()) -> WebSocketMultiplayerPeer:
	var p := WebSocketMultiplayerPeer.new()
	p.handshake_headers = headers
	_mps.append(p)
	_pollables.append(p)
	eq(p.create_client("ws://127.0.0.1:%d" % port), OK, "Godot's create_client")
	return p


## Godot's own WebSocketPeer connected to port, polled.
func godot_ws(port: int) -> WebSocketPeer:
	var w := WebSocketPeer.new()
	_pollables.append(w)
	eq(w.connect_to_url("ws://127.0.0.1:%d" % port), OK, "WebSocketPeer.connect_to_url")
	return w


func mp_url(s: GoWebSocketMultiplayerPeer) -> String:
	return "ws://127.0.0.1:%d" % s.get_listen_port()


func test_infra_multiplayer_members_and_errors() -> bool:
	var cls := "GoWebSocketMultiplayerPeer"
	eq(GoWebSocketMultiplayerPeer.HANDSHAKE_MODE_AUTO, 0, "HANDSHAKE_MODE_AUTO")
	eq(GoWebSocketMultiplayerPeer.HANDSHAKE_MODE_MANUAL, 1, "HANDSHAKE_MODE_MANUAL")
	for sig in ["client_handshake", "drained"]:
		check(ClassDB.class_has_signal(cls, sig), "signal " + sig)
	for m in ["drain", "is_draining", "accept_peer", "reject_peer"]:
		check(ClassDB.class_has_method(cls, m), "method " + m)
	var p := mp()
	eq(p.handshake_mode, GoWebSocketMultiplayerPeer.HANDSHAKE_MODE_AUTO, "handshake_mode default")
	p.handshake_mode = GoWebSocketMultiplayerPeer.HANDSHAKE_MODE_MANUAL
	eq(p.handshake_mode, 1, "handshake_mode set")
	p.handshake_mode = 7  # refused with an engine error, not stored
	eq(p.handshake_mode, 1, "a bad handshake_mode is not stored")
	# Neither server nor client yet: errors, no crash.
	eq(p.drain(1.0), ERR_UNCONFIGURED, "drain before create_server")
	eq(p.is_draining(), false, "is_draining before create_server")
	eq(p.accept_peer(2), ERR_UNCONFIGURED, "accept_peer before create_server")
	eq(p.reject_peer(2, 403, "no"), ERR_UNCONFIGURED, "reject_peer before create_server")
	# On a client: errors too, and the client keeps working.
	var s := mp_server()
	var c := mp()
	eq(c.create_client(mp_url(s)), OK, "create_client")
	check(pump(func(): return c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED), "client connected")
	eq(c.drain(1.0), ERR_UNCONFIGURED, "drain on a client")
	eq(c.is_draining(), false, "is_draining on a client")
	eq(c.accept_peer(1), ERR_UNCONFIGURED, "accept_peer on a client")
	eq(c.reject_peer(1, 403, ""), ERR_UNCONFIGURED, "reject_peer on a client")
	eq(c.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED, "client still connected")
	# On the server: unknown ids and bad arguments.
	eq(s.accept_peer(1), ERR_DOES_NOT_EXIST, "accept_peer(1), the server's own id")
	eq(s.accept_peer(c.get_unique_id()), ERR_DOES_NOT_EXIST, "accept_peer of a connected peer (AUTO)")
	eq(s.reject_peer(99, 403, ""), ERR_DOES_NOT_EXIST, "reject_peer of an unknown id")
	eq(s.drain(-1.0), ERR_INVALID_PARAMETER, "negative drain timeout")
	eq(s.is_draining(), false, "not draining after a refused drain")
	# After close() it is unconfigured again.
	s.close()
	eq(s.drain(1.0), ERR_UNCONFIGURED, "drain after close")
	return true


func test_infra_multiplayer_drain() -> bool:
	var s := mp()
	s.health_path = "/healthz"
	eq(s.create_server(0, "127.0.0.1"), OK, "create_server")
	var slog := record(s)
	var port := s.get_listen_port()
	var ours := mp()
	eq(ours.create_client(mp_url(s)), OK, "create_client")
	var godots := godot_mp_client(port)
	var early := godot_ws(port)  # leaves by itself
	var late := godot_ws(port)   # stays until the timeout
	var up := func(): return names(slog).count("peer_connected") == 4 \
		and ours.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED \
		and godots.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED
	if not check(pump(up), "four peers did not connect: %s" % [slog]):
		return false
	pump_for(100)  # the raw peers' id messages arrive
	eq(http_status(port, "/healthz"), 200, "health while serving")
	var started := Time.get_ticks_msec()
	eq(s.drain(0.5), OK, "drain")
	eq(s.is_draining(), true, "draining")
	eq(http_status(port, "/healthz"), 503, "health while draining")
	var r := raw_request(port, "GET / HTTP/1.1\r\nHost: x\r\n" + UPGRADE + "\r\n")
	r[0].disconnect_from_host()
	check(r[1].begins_with("HTTP/1.1 503"), "upgrade while draining: " + r[1].get_slice("\r\n", 0))
	# A new multiplayer client (ours) fails to connect.
	var refused := mp()
	eq(refused.create_client(mp_url(s)), OK, "create_client while draining")
	check(pump(func(): return refused.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED), "client refused while draining")
	eq(names(slog).count("peer_connected"), 4, "no peer_connected while draining")
	# One peer leaves by itself: peer_disconnected, no drained yet.
	early.close(1000, "done")
	check(pump(func(): return names(slog).count("peer_disconnected") == 1), "peer_disconnected of the peer that left")
	eq(names(slog).count("drained"), 0, "drained with peers left")
	# At the timeout the rest are closed with 1001.
	check(pump(func(): return names(slog).has("drained")), "drained() not emitted")
	check(Time.get_ticks_msec() - started >= 450, "drained before the timeout")
	eq(names(slog).count("peer_disconnected"), 4, "peer_disconnected for every peer")
	eq(names(slog).back(), "drained", "drained after the last peer_disconnected")
	check(pump(func(): return late.get_ready_state() == WebSocketPeer.STATE_CLOSED), "the remaining WebSocketPeer closed")
	eq(late.get_close_code(), 1001, "remaining peer closed with 1001")
	eq(early.get_close_code(), 1000, "the peer that left by itself")
	check(pump(func(): return ours.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED \
		and godots.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED), "multiplayer clients disconnected")
	pump_for(100)
	eq(names(slog).count("drained"), 1, "drained once")
	eq(s.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED, "the server itself stays up until close()")
	return true


func test_infra_multiplayer_manual_accept_and_reject() -> bool:
	var s := mp_server(true)
	var slog := record(s)
	var port := s.get_listen_port()
	var requests := {}
	s.client_handshake.connect(func(id: int, request: Dictionary): requests[id] = request)
	# Ours, accepted later (outside the handler).
	var c := mp()
	c.handshake_headers = PackedStringArray(["Authorization: Bearer good"])
	eq(c.create_client(mp_url(s) + "/join?room=3"), OK, "create_client")
	check(pump(func(): return requests.size() == 1), "client_handshake not emitted")
	pump_for(200)
	eq(names(slog).count("peer_connected"), 0, "no peer_connected before accept_peer")
	eq(c.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTING, "client connecting while held")
	if requests.size() != 1:
		return false
	var id: int = requests.keys()[0]
	check(id >= 2, "handshake id is a multiplayer client id: %d" % id)
	var req: Dictionary = requests[id]
	eq(req.get("path"), "/join", "request path")
	eq(req.get("query"), "room=3", "request query")
	eq(req["headers"].get("authorization"), "Bearer good", "request header")
	eq(s.accept_peer(id), OK, "accept_peer")
	check(pump(func(): return c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED), "accepted client connected")
	eq(find(slog, "peer_connected"), ["peer_connected", id], "peer_connected with the handshake id")
	eq(c.get_unique_id(), id, "the client's id is the handshake id")
	eq(s.accept_peer(id), ERR_DOES_NOT_EXIST, "accept_peer of an answered handshake")
	# Packets flow both ways.
	c.set_target_peer(1)
	eq(c.put_packet("ping".to_utf8_buffer()), OK, "client put_packet")
	check(pump(func(): return s.get_available_packet_count() > 0), "server got no packet")
	if s.get_available_packet_count() > 0:
		eq(s.get_packet_peer(), id, "packet from the accepted peer")
		eq(s.get_packet().get_string_from_utf8(), "ping", "packet to the server")
	s.set_target_peer(id)
	eq(s.put_packet("pong".to_utf8_buffer()), OK, "server put_packet")
	check(pump(func(): return c.get_available_packet_count() > 0), "client got no packet")
	if c.get_available_packet_count() > 0:
		eq(c.get_packet().get_string_from_utf8(), "pong", "packet to the client")
	# Godot's own multiplayer client, rejected inside the handler.
	s.client_handshake.connect(func(hid: int, request: Dictionary):
		if request["headers"].get("authorization", "") != "Bearer good":
			eq(s.reject_peer(hid, 401, "bad token"), OK, "reject_peer"))
	var g := godot_mp_client(port, PackedStringArray(["Authorization: Bearer bad"]))
	check(pump(func(): return g.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED), "rejected Godot client not disconnected")
	eq(requests.size(), 2, "client_handshake for the rejected client")
	# The status the client gets.
	var r := raw_request(port, "GET / HTTP/1.1\r\nHost: x\r\n" + UPGRADE + "\r\n")
	r[0].disconnect_from_host()
	check(r[1].begins_with("HTTP/1.1 401"), "rejected handshake answered 401: " + r[1].get_slice("\r\n", 0))
	pump_for(100)
	eq(names(slog).count("peer_connected"), 1, "no peer_connected for rejected clients")
	return true


## A raw upgrade to host (a server in MANUAL mode with a short
## handshake_timeout) that nobody answers is refused with 503, after
## client_handshake, and can no longer be accepted.
func unanswered_handshake_refused(host, slog: Array) -> void:
	var r := raw_request(host.get_listen_port(), "GET / HTTP/1.1\r\nHost: x\r\n" + UPGRADE + "\r\n")
	r[0].disconnect_from_host()
	check(r[1].begins_with("HTTP/1.1 503"), "unanswered handshake refused with 503: " + r[1].get_slice("\r\n", 0))
	var hs := find(slog, "client_handshake")
	check(hs.size() == 3, "client_handshake emitted")
	if hs.size() == 3:
		eq(host.accept_peer(hs[1]), ERR_DOES_NOT_EXIST, "accept_peer after the timeout")


func test_infra_multiplayer_manual_timeout_and_refusing() -> bool:
	var s := mp()
	s.handshake_mode = GoWebSocketMultiplayerPeer.HANDSHAKE_MODE_MANUAL
	s.handshake_timeout = 0.3
	eq(s.create_server(0, "127.0.0.1"), OK, "create_server")
	var slog := record(s)
	unanswered_handshake_refused(s, slog)
	# Our client, unanswered, fails.
	var c := mp()
	eq(c.create_client(mp_url(s)), OK, "create_client")
	check(pump(func(): return c.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED), "unanswered client not refused")
	eq(names(slog).count("client_handshake"), 2, "client_handshake for our client")
	# refuse_new_connections refuses held handshakes without asking the script.
	s.refuse_new_connections = true
	var r2 := raw_request(s.get_listen_port(), "GET / HTTP/1.1\r\nHost: x\r\n" + UPGRADE + "\r\n")
	r2[0].disconnect_from_host()
	check(r2[1].begins_with("HTTP/1.1 503"), "handshake while refusing: " + r2[1].get_slice("\r\n", 0))
	eq(names(slog).count("client_handshake"), 2, "no client_handshake while refusing")
	eq(names(slog).count("peer_connected"), 0, "no peer_connected")
	return true
