extends "res://tests/test_base.gd"
## What Godot's own WebSocketPeer cannot do: compression, proxies, heartbeats
## with RTT and pong timeouts, TLS, handshake control, limits, reconnect, stats.


## A small HTTP CONNECT proxy made of TCPServer + StreamPeerTCP, polled by pump().
class ConnectProxy:
	var tcp := TCPServer.new()
	var port := 0
	var want_auth := ""  # expected Proxy-Authorization value ("" = none needed)
	var tunnels: Array = []  # [client, upstream, header_buffer, established]
	var connects: Array[String] = []  # CONNECT targets seen

	func _init(auth := "") -> void:
		want_auth = auth
		tcp.listen(0, "127.0.0.1")
		port = tcp.get_local_port()

	func poll() -> void:
		while tcp.is_connection_available():
			tunnels.append([tcp.take_connection(), null, PackedByteArray(), false])
		for t in tunnels:
			var client: StreamPeerTCP = t[0]
			client.poll()
			if client.get_status() != StreamPeerTCP.STATUS_CONNECTED:
				continue
			if not t[3]:
				_read_request(t)
				continue
			var up: StreamPeerTCP = t[1]
			up.poll()
			_pipe(client, up)
			_pipe(up, client)

	func _read_request(t: Array) -> void:
		var client: StreamPeerTCP = t[0]
		var n := client.get_available_bytes()
		if n > 0:
			t[2].append_array(client.get_data(n)[1])
		var text: String = t[2].get_string_from_ascii()
		if text.find("\r\n\r\n") < 0:
			return
		var lines := text.split("\r\n")
		var target := lines[0].split(" ")[1]
		connects.append(target)
		var auth_ok := want_auth == ""
		for l in lines:
			if l.to_lower().begins_with("proxy-authorization:"):
				auth_ok = l.substr(l.find(":") + 1).strip_edges() == want_auth
		if not auth_ok:
			client.put_data("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n".to_ascii_buffer())
			client.disconnect_from_host()
			return
		var up := StreamPeerTCP.new()
		up.connect_to_host(target.split(":")[0], int(target.split(":")[1]))
		while up.get_status() == StreamPeerTCP.STATUS_CONNECTING:
			up.poll()
		t[1] = up
		t[3] = true
		client.put_data("HTTP/1.1 200 Connection established\r\n\r\n".to_ascii_buffer())

	func _pipe(from: StreamPeerTCP, to: StreamPeerTCP) -> void:
		var n := from.get_available_bytes()
		if n > 0:
			to.put_data(from.get_data(n)[1])

	func stop() -> void:
		for t in tunnels:
			t[0].disconnect_from_host()
			if t[1] != null:
				t[1].disconnect_from_host()
		tcp.stop()


## Sends a raw HTTP upgrade request and returns the response head.
func raw_upgrade(port: int, extra := "") -> String:
	var r := raw_request(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + UPGRADE + extra + "\r\n")
	r[0].disconnect_from_host()
	return r[1]


func test_compression_negotiated_and_smaller_on_the_wire() -> bool:
	var s := GoWebSocketServer.new()
	s.compression_enabled = true
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var c := new_client()
	c.compression_enabled = true
	eq(c.connect_to_url(url(s)), OK, "connect")
	check(pump(func(): return c.get_connection_status() == 2 and s.get_peer_ids().size() == 1), "no connection")
	var id: int = s.get_peer_ids()[0]
	var offered: String = s.get_peer_request(id).get("headers", {}).get("sec-websocket-extensions", "")
	check(offered.contains("permessage-deflate"), "client did not offer permessage-deflate: " + offered)
	var cp: GoWebSocketPeer = c.get_peer(1)
	var sp: GoWebSocketPeer = s.get_peer(id)
	var text := "{\"player\": \"ada\", \"x\": 10, \"y\": 20, \"state\": \"running\"} ".repeat(40)
	for i in 50:
		eq(cp.send_text(text), OK, "send_text compressed")
	check(pump(func(): return sp.get_available_packet_count() == 50), "compressed messages did not arrive")
	eq(sp.get_packet().get_string_from_utf8(), text, "payload after inflate")
	var st := cp.get_stats()
	check(st["wire_bytes_out"] * 4 < st["bytes_out"], "compression did not shrink the stream: %d wire bytes for %d payload bytes" % [st["wire_bytes_out"], st["bytes_out"]])
	# Without compression on the server, the same client talks plain frames.
	var plain := new_server()
	var c2 := new_client()
	c2.compression_enabled = true
	c2.connect_to_url(url(plain))
	check(pump(func(): return c2.get_connection_status() == 2), "compressing client could not reach a plain server")
	c2.get_peer(1).send_text(text)
	check(pump(func(): return plain.get_peer_ids().size() == 1 and plain.get_peer(plain.get_peer_ids()[0]).get_available_packet_count() == 1), "plain message did not arrive")
	check(c2.get_peer(1).get_stats()["wire_bytes_out"] > text.length(), "a plain server must not get compressed frames")
	return true


func test_heartbeats_measure_rtt() -> bool:
	var s := GoWebSocketServer.new()
	s.heartbeat_interval = 0.05
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var c := new_client()
	c.heartbeat_interval = 0.05
	c.connect_to_url(url(s))
	check(pump(func(): return c.get_connection_status() == 2), "no connection")
	var cp: GoWebSocketPeer = c.get_peer(1)
	check(pump(func(): return cp.get_rtt_ms() > 0.0), "client RTT never measured")
	check(cp.get_rtt_ms() < 1000.0, "loopback RTT of %f ms" % cp.get_rtt_ms())
	eq(cp.get_stats()["rtt_ms"], cp.get_rtt_ms(), "rtt_ms in stats")
	var sp: GoWebSocketPeer = s.get_peer(s.get_peer_ids()[0])
	check(pump(func(): return sp.get_rtt_ms() > 0.0), "server RTT never measured")
	pump_for(300)
	eq(c.get_connection_status(), 2, "a peer answering pings must stay connected")
	return true


func test_pong_timeout_closes_a_silent_peer() -> bool:
	# Godot's own WebSocketPeer answers pings only when polled: never polling
	# it makes a peer that stops answering.
	var tcp := TCPServer.new()
	eq(tcp.listen(0, "127.0.0.1"), OK, "TCPServer.listen")
	var ws := WebSocketPeer.new()
	var c := new_client()
	c.heartbeat_interval = 0.1
	var clog := record(c)
	c.connect_to_url("ws://127.0.0.1:%d/" % tcp.get_local_port())
	var accepted := [false]
	var handshake := pump(func():
		if not accepted[0] and tcp.is_connection_available():
			ws.accept_stream(tcp.take_connection())
			accepted[0] = true
		if accepted[0] and ws.get_ready_state() != WebSocketPeer.STATE_OPEN:
			ws.poll()
		return c.get_connection_status() == 2)
	check(handshake, "did not connect")
	var started := Time.get_ticks_msec()
	check(pump(func(): return find(clog, "connection_closed") != []), "silent peer never timed out")
	var waited := Time.get_ticks_msec() - started
	eq(find(clog, "connection_closed"), ["connection_closed", false], "pong timeout is an unclean close")
	check(waited < 1500, "pong timeout took %d ms with a 0.1 s interval" % waited)
	eq(c.get_peer(1).get_close_code(), -1, "close code after a timeout")
	ws.close()
	tcp.stop()
	return true


func test_tls_server_and_client_verification() -> bool:
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := crypto.generate_self_signed_certificate(key, "CN=localhost")
	var s := GoWebSocketServer.new()
	s.tls_certificate = cert
	s.tls_key = key
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "wss listen")
	_servers.append(s)
	var wss := "wss://localhost:%d/" % s.get_listen_port()
	# Verification is on by default: a self-signed certificate is refused.
	var strict := new_client()
	var slog := record(strict)
	eq(strict.verify_tls, true, "verify_tls default")
	strict.connect_to_url(wss)
	check(pump(func(): return not slog.is_empty()), "no outcome for an untrusted certificate")
	eq(names(slog), ["connection_error"], "untrusted certificate must fail")
	# Trusting that certificate lets the client in, and data flows.
	var trusting := new_client()
	trusting.trusted_tls_certificate = cert
	trusting.connect_to_url(wss)
	check(pump(func(): return trusting.get_connection_status() == 2), "trusted certificate refused")
	trusting.get_peer(1).send_text("over tls")
	check(pump(func(): return s.get_peer_ids().size() >= 1 and s.get_peer(s.get_peer_ids()[-1]).get_available_packet_count() == 1), "no message over TLS")
	eq(s.get_peer(s.get_peer_ids()[-1]).get_packet().get_string_from_utf8(), "over tls", "TLS payload")
	# The right certificate on the wrong host name is refused too.
	var wrong_host := new_client()
	var wlog := record(wrong_host)
	wrong_host.trusted_tls_certificate = cert
	wrong_host.connect_to_url("wss://127.0.0.1:%d/" % s.get_listen_port())
	check(pump(func(): return not wlog.is_empty()), "no outcome for a wrong host name")
	eq(names(wlog), ["connection_error"], "wrong host name must fail")
	# Turning verification off accepts it.
	var lax := new_client()
	lax.verify_tls = false
	lax.connect_to_url(wss)
	check(pump(func(): return lax.get_connection_status() == 2), "verify_tls=false refused")
	# A key without its certificate is an error at listen time.
	var half := GoWebSocketServer.new()
	half.tls_key = key
	eq(half.listen(0), ERR_INVALID_PARAMETER, "tls_key without tls_certificate")
	return true


func test_proxy_with_basic_auth() -> bool:
	var s := new_server()
	var proxy := ConnectProxy.new("Basic " + Marshalls.utf8_to_base64("ada:secret"))
	_pollables.append(proxy)
	var c := new_client()
	c.proxy_url = "http://ada:secret@127.0.0.1:%d" % proxy.port
	eq(c.connect_to_url(url(s)), OK, "connect through proxy")
	check(pump(func(): return c.get_connection_status() == 2 and s.get_peer_ids().size() == 1), "no connection through the proxy")
	eq(proxy.connects, ["127.0.0.1:%d" % s.get_listen_port()] as Array[String], "CONNECT target")
	c.get_peer(1).send_text("via proxy")
	var sp: GoWebSocketPeer = s.get_peer(s.get_peer_ids()[0])
	check(pump(func(): return sp.get_available_packet_count() == 1), "message through proxy did not arrive")
	eq(sp.get_packet().get_string_from_utf8(), "via proxy", "payload through proxy")
	# Wrong credentials: the proxy answers 407 and the client reports an error.
	var bad := new_client()
	var blog := record(bad)
	bad.proxy_url = "http://ada:wrong@127.0.0.1:%d" % proxy.port
	bad.connect_to_url(url(s))
	check(pump(func(): return not blog.is_empty()), "no outcome with wrong proxy credentials")
	eq(names(blog), ["connection_error"], "407 from the proxy is a connection error")
	var nonsense := new_client()
	nonsense.proxy_url = "socks5://127.0.0.1:1"
	eq(nonsense.connect_to_url(url(s)), ERR_INVALID_PARAMETER, "unsupported proxy scheme")
	c.disconnect_from_host()
	pump(func(): return c.get_connection_status() == 0, 2000)
	proxy.stop()
	return true


func test_handshake_headers_origins_and_cookies() -> bool:
	var s := GoWebSocketServer.new()
	s.allowed_origins = PackedStringArray(["https://game.example"])
	eq(s.set_extra_headers(PackedStringArray(["X-Server: go", "Set-Cookie: seen=1"])), OK, "set_extra_headers")
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var head := raw_upgrade(s.get_listen_port(), "Origin: https://game.example\r\n")
	check(head.begins_with("HTTP/1.1 101"), "allowed origin refused: " + head.get_slice("\r\n", 0))
	check(head.to_lower().contains("x-server: go"), "extra header missing from the response: " + head)
	var refused := raw_upgrade(s.get_listen_port(), "Origin: https://evil.example\r\n")
	check(refused.begins_with("HTTP/1.1 403"), "foreign origin not refused with 403: " + refused.get_slice("\r\n", 0))
	var c := new_client()
	eq(c.connect_to_url(url(s, "/lobby?room=7&mode=duel"), PackedStringArray(), PackedStringArray(["Origin: https://game.example", "Cookie: session=abc123", "Authorization: Bearer t0k"])), OK, "connect")
	check(pump(func(): return c.get_connection_status() == 2 and s.get_peer_ids().size() >= 1), "allowed origin could not connect")
	var req := s.get_peer_request(s.get_peer_ids()[-1])
	eq(req.get("path"), "/lobby", "path")
	eq(req.get("query"), "room=7&mode=duel", "query")
	var headers: Dictionary = req.get("headers", {})
	eq(headers.get("cookie"), "session=abc123", "cookie seen by the server")
	eq(headers.get("authorization"), "Bearer t0k", "authorization header")
	eq(headers.get("origin"), "https://game.example", "origin header")
	var evil := new_client()
	var elog := record(evil)
	evil.connect_to_url(url(s), PackedStringArray(), PackedStringArray(["Origin: https://evil.example"]))
	check(pump(func(): return not elog.is_empty()), "no outcome for a foreign origin")
	eq(names(elog), ["connection_error"], "foreign origin must be refused")
	eq(s.get_peer_request(987654), {}, "get_peer_request of an unknown id")
	return true


func test_limits_message_size_max_connections_handshake_timeout() -> bool:
	var s := GoWebSocketServer.new()
	s.inbound_buffer_size = 1024
	s.max_connections = 1
	s.handshake_timeout = 0.2
	eq(s.listen(0, PackedStringArray(), "127.0.0.1"), OK, "listen")
	_servers.append(s)
	var slog := record(s)
	var c := new_client()
	var clog := record(c)
	c.connect_to_url(url(s))
	check(pump(func(): return c.get_connection_status() == 2), "first client refused")
	# A second connection is over max_connections: refused before upgrade.
	var head := raw_upgrade(s.get_listen_port())
	check(head.begins_with("HTTP/1.1 503"), "connection over max_connections not refused with 503: " + head.get_slice("\r\n", 0))
	var extra := new_client()
	var xlog := record(extra)
	extra.connect_to_url(url(s))
	check(pump(func(): return not xlog.is_empty()), "no outcome over max_connections")
	eq(names(xlog), ["connection_error"], "over max_connections")
	# A message over the server's inbound limit closes with 1009.
	var cp: GoWebSocketPeer = c.get_peer(1)
	eq(cp.send(_bytes(2000)), OK, "send big message")
	check(pump(func(): return find(clog, "connection_closed") != []), "oversized message did not close the connection")
	eq(find(clog, "server_close_request").slice(0, 2), ["server_close_request", 1009], "close code for a message too big")
	check(pump(func(): return find(slog, "client_disconnected") != []), "server did not report the disconnect")
	# A silent TCP client is dropped after handshake_timeout.
	var tcp := StreamPeerTCP.new()
	tcp.connect_to_host("127.0.0.1", s.get_listen_port())
	var started := Time.get_ticks_msec()
	var dropped := pump(func():
		tcp.poll()
		if tcp.get_status() == StreamPeerTCP.STATUS_CONNECTED:
			var r := tcp.get_partial_data(1)
			return r[0] != OK
		return tcp.get_status() != StreamPeerTCP.STATUS_CONNECTING, 3000)
	check(dropped, "a silent client was not dropped")
	check(Time.get_ticks_msec() - started < 2000, "silent client dropped only after %d ms" % (Time.get_ticks_msec() - started))
	tcp.disconnect_from_host()
	return true


func _bytes(n: int) -> PackedByteArray:
	var b := PackedByteArray()
	b.resize(n)
	return b


func test_outbound_limit_returns_error() -> bool:
	var s := new_server()
	var c := new_client()
	c.outbound_buffer_size = 64 * 1024
	c.connect_to_url(url(s))
	check(pump(func(): return c.get_connection_status() == 2), "no connection")
	var cp: GoWebSocketPeer = c.get_peer(1)
	eq(cp.send(_bytes(65 * 1024)), ERR_OUT_OF_MEMORY, "one message over outbound_buffer_size")
	eq(cp.get_ready_state(), GoWebSocketPeer.STATE_OPEN, "still open after a refused send")
	return true


func test_auto_reconnect() -> bool:
	var s := new_server()
	var port := s.get_listen_port()
	var c := new_client()
	c.auto_reconnect = true
	var clog := record(c)
	c.connect_to_url(url(s))
	check(pump(func(): return c.get_connection_status() == 2), "no first connection")
	s.stop()
	check(pump(func(): return find(clog, "reconnecting") != []), "no reconnecting signal after the server went away")
	var r := find(clog, "reconnecting")
	eq(r[1], 1, "first attempt number")
	check(typeof(r[2]) == TYPE_FLOAT and r[2] > 0.0 and r[2] < 5.0, "reconnect delay %s" % str(r[2]))
	var again := GoWebSocketServer.new()
	_servers.append(again)
	eq(again.listen(port, PackedStringArray(), "127.0.0.1"), OK, "listen again on the same port")
	var established := func(): return names(clog).filter(func(n): return n == "connection_established").size() == 2
	check(pump(established, 15000), "client did not reconnect: %s" % str(names(clog)))
	eq(c.get_connection_status(), 2, "connected again")
	# disconnect_from_host stops reconnecting.
	c.disconnect_from_host()
	check(pump(func(): return c.get_connection_status() == 0), "did not disconnect")
	var n := clog.size()
	again.stop()
	pump_for(700)
	eq(names(clog.slice(n)).filter(func(x): return x == "reconnecting"), [], "reconnecting after disconnect_from_host")
	return true


func test_peer_that_stops_reading_fills_the_outbound_queue() -> bool:
	# Godot's own WebSocketPeer, never polled after the handshake, reads nothing.
	var tcp := TCPServer.new()
	eq(tcp.listen(0, "127.0.0.1"), OK, "TCPServer.listen")
	var ws := WebSocketPeer.new()
	var c := new_client()
	c.outbound_buffer_size = 256 * 1024
	c.connect_to_url("ws://127.0.0.1:%d/" % tcp.get_local_port())
	var accepted := [false]
	check(pump(func():
		if not accepted[0] and tcp.is_connection_available():
			ws.accept_stream(tcp.take_connection())
			accepted[0] = true
		if accepted[0] and ws.get_ready_state() != WebSocketPeer.STATE_OPEN:
			ws.poll()
		return c.get_connection_status() == 2), "did not connect")
	var cp: GoWebSocketPeer = c.get_peer(1)
	var chunk := _bytes(64 * 1024)
	var err := OK
	var sent := 0
	while err == OK and sent < 4000:  # the kernel's socket buffers take a few MB first
		err = cp.put_packet(chunk)
		if err == OK:
			sent += 1
		c.poll()
	eq(err, ERR_OUT_OF_MEMORY, "put_packet once the outbound queue is full (after %d packets)" % sent)
	check(cp.get_current_outbound_buffered_amount() <= 256 * 1024, "outbound queue over its limit: %d" % cp.get_current_outbound_buffered_amount())
	eq(cp.get_ready_state(), GoWebSocketPeer.STATE_OPEN, "still open while the peer is slow")
	c.disconnect_from_host()
	ws.close()
	tcp.stop()
	return true
