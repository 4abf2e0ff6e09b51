package main

import (
	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// wsClient is GoWebSocketClient.
type wsClient struct {
	owner
	client  *peer.Client
	peerObj bindings.Object // the GoWebSocketPeer of id 1, made on first use
	peer    *wsPeer
	events  []peer.Event
}

var clientSignals struct {
	established, connError, closed, dataReceived, closeRequest, reconnecting bindings.StringName
}

// peerObject returns the client's GoWebSocketPeer, creating it on first use.
func (c *wsClient) peerObject() bindings.Object {
	if c.peerObj == nil {
		c.peerObj, c.peer = newPeerObject(&c.mu, nil, c.packetLimit())
	}
	return c.peerObj
}

func (c *wsClient) connect(url string, protocols, headerLines []string) int64 {
	const method = "connect_to_url"
	header, err := peer.ParseHeaders(headerLines)
	if err != nil {
		return godotError(method, err)
	}
	opts, err := c.options(false, url)
	if err != nil {
		return godotError(method, err)
	}
	opts.Protocols, opts.Header = protocols, header
	if c.client != nil {
		if st := c.client.Status(); st != peer.ClientDisconnected {
			return fail(method, "already connecting or connected; call disconnect_from_host() first", errAlreadyInUse)
		}
		c.client.Shutdown()
	}
	c.client = peer.NewClient(opts)
	if err := c.client.Connect(url); err != nil {
		c.client.Shutdown()
		c.client = nil
		return godotError(method, err)
	}
	c.peerObject()
	c.peer.conn, c.peer.maxPacket, c.peer.wasText = c.client.Conn(), c.packetLimit(), false
	return errOK
}

// poll drains the client's events under the lock, then emits the signals
// without it so handlers may call back into the client.
func (c *wsClient) poll() {
	c.mu.Lock()
	if c.client == nil {
		c.mu.Unlock()
		return
	}
	events := c.client.Poll(c.events[:0])
	c.events = nil
	for _, ev := range events {
		if ev.Kind == peer.EventConnected && c.peer != nil {
			c.peer.conn = ev.Conn // a reconnect brings a new connection
		}
	}
	obj := c.obj
	c.mu.Unlock()

	dataWatched := -1
	for i := range events {
		ev := &events[i]
		switch ev.Kind {
		case peer.EventConnected:
			bindings.Emit(obj, clientSignals.established, ev.Protocol)
		case peer.EventConnectError:
			bindings.Emit(obj, clientSignals.connError)
		case peer.EventMessage:
			if dataWatched < 0 {
				dataWatched = boolToInt(bindings.HasConnections(obj, clientSignals.dataReceived))
			}
			if dataWatched == 1 {
				bindings.Emit(obj, clientSignals.dataReceived)
			}
		case peer.EventCloseRequest:
			bindings.Emit(obj, clientSignals.closeRequest, ev.Code, ev.Reason)
		case peer.EventDisconnected:
			bindings.Emit(obj, clientSignals.closed, ev.Clean)
		case peer.EventReconnecting:
			bindings.Emit(obj, clientSignals.reconnecting, ev.Attempt, ev.Delay.Seconds())
		}
		*ev = peer.Event{}
	}
	c.mu.Lock()
	if c.events == nil {
		c.events = events[:0]
	}
	c.mu.Unlock()
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func registerClientClass() {
	str := func(name string) bindings.Arg { return bindings.Arg{Name: name, Type: bindings.TypeString} }
	class := &bindings.Class{
		Name:   "GoWebSocketClient",
		Parent: "RefCounted",
		New: func(obj bindings.Object) any {
			return &wsClient{owner: newOwner(obj)}
		},
		Free: func(self any) {
			cl := self.(*wsClient)
			cl.mu.Lock()
			defer cl.mu.Unlock()
			if cl.client != nil {
				cl.client.Shutdown()
			}
			if cl.peer != nil {
				cl.peer.conn = nil
			}
			bindings.Unref(cl.peerObj)
			cl.settings.release()
		},
		Signals: []bindings.Signal{
			{Name: "connection_established", Args: []bindings.Arg{str("protocol")}},
			{Name: "connection_error"},
			{Name: "connection_closed", Args: []bindings.Arg{{Name: "was_clean_close", Type: bindings.TypeBool}}},
			{Name: "data_received"},
			{Name: "server_close_request", Args: []bindings.Arg{{Name: "code", Type: bindings.TypeInt}, str("reason")}},
			{Name: "reconnecting", Args: []bindings.Arg{{Name: "attempt", Type: bindings.TypeInt}, {Name: "delay", Type: bindings.TypeFloat}}},
		},
	}
	b := bindings.Bind(class, lockOf[*wsClient])
	b.Func("connect_to_url", []bindings.Arg{str("url"),
		{Name: "protocols", Type: bindings.TypePackedStringArray, Default: []string{}},
		{Name: "custom_headers", Type: bindings.TypePackedStringArray, Default: []string{}}},
		bindings.TypeInt, "", func(cl *wsClient, c bindings.Call) {
			c.ReturnInt(cl.connect(c.String(0), c.Strings(1), c.Strings(2)))
		})
	b.Func("disconnect_from_host", closeArgs, bindings.TypeInt, "", func(cl *wsClient, c bindings.Call) {
		if cl.client == nil {
			c.ReturnInt(fail("disconnect_from_host", "not connected", errUnconfigured))
			return
		}
		c.ReturnInt(godotError("disconnect_from_host", cl.client.Disconnect(int(c.Int(0)), c.String(1))))
	})
	b.Unlocked("poll", nil, func(cl *wsClient, _ bindings.Call) { cl.poll() })
	b.Func("get_peer", []bindings.Arg{{Name: "id", Type: bindings.TypeInt, Default: 1}}, bindings.TypeObject, "GoWebSocketPeer", func(cl *wsClient, c bindings.Call) {
		if c.Int(0) != 1 {
			fail("get_peer", "a client's only peer has id 1", errInvalidParameter)
			return
		}
		c.ReturnObject(cl.peerObject())
	})
	b.Func("get_connection_status", nil, bindings.TypeInt, "", func(cl *wsClient, c bindings.Call) {
		st := peer.ClientDisconnected
		if cl.client != nil {
			st = cl.client.Status()
		}
		c.ReturnInt(int64(st))
	})
	b.Func("get_connected_host", nil, bindings.TypeString, "", func(cl *wsClient, c bindings.Call) {
		if cl.client != nil && cl.client.Conn() != nil {
			c.ReturnString(cl.client.Conn().RemoteHost())
		}
	})
	b.Func("get_connected_port", nil, bindings.TypeInt, "", func(cl *wsClient, c bindings.Call) {
		if cl.client != nil && cl.client.Conn() != nil {
			c.ReturnInt(int64(cl.client.Conn().RemotePort()))
		}
	})
	addCommonProps(b)
	b.Bool("verify_tls", func(cl *wsClient) *bool { return &cl.verifyTLS })
	b.Object("trusted_tls_certificate", "X509Certificate", func(cl *wsClient) *bindings.Object { return &cl.trustedCert })
	b.String("proxy_url", func(cl *wsClient) *string { return &cl.proxyURL })
	b.Bool("auto_reconnect", func(cl *wsClient) *bool { return &cl.autoReconnect })
	bindings.Register(class)
	clientSignals.established = bindings.Name("connection_established")
	clientSignals.connError = bindings.Name("connection_error")
	clientSignals.closed = bindings.Name("connection_closed")
	clientSignals.dataReceived = bindings.Name("data_received")
	clientSignals.closeRequest = bindings.Name("server_close_request")
	clientSignals.reconnecting = bindings.Name("reconnecting")
}
