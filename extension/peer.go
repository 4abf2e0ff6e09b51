package main

import (
	"sync"
	"unsafe"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// wsPeer is GoWebSocketPeer: one connection, a PacketPeer through the
// PacketPeerExtension virtuals. Peers handed out by a client or server share
// their owner's lock; a peer made with GoWebSocketPeer.new() has no
// connection and reports STATE_CLOSED.
type wsPeer struct {
	mu        *sync.Mutex
	conn      *peer.Conn
	writeMode peer.WriteMode
	wasText   bool
	maxPacket int
	buf       bindings.CBuffer // the last packet handed to the engine
}

var peerClass *bindings.Class

// state is the connection's ready state (STATE_CLOSED without one).
func (p *wsPeer) state() peer.State {
	if p.conn == nil {
		return peer.StateClosed
	}
	return p.conn.State()
}

// send queues a message; peer checks the mode and the data.
func (p *wsPeer) send(method string, data []byte, mode peer.WriteMode) int64 {
	if p.conn == nil {
		return fail(method, "the peer has no connection", errUnconfigured)
	}
	return godotError(method, p.conn.Send(data, mode))
}

func registerPeerClass() {
	const cls = "GoWebSocketPeer"
	writeMode := cls + ".WriteMode"
	state := cls + ".State"
	peerClass = &bindings.Class{
		Name:   cls,
		Parent: "PacketPeerExtension",
		New: func(bindings.Object) any {
			return &wsPeer{mu: new(sync.Mutex), writeMode: peer.WriteBinary, maxPacket: peer.DefaultOutboundBufferSize}
		},
		Free: func(self any) { self.(*wsPeer).buf.Free() },
		Constants: []bindings.Constant{
			{Enum: "WriteMode", Name: "WRITE_MODE_TEXT", Value: int64(peer.WriteText)},
			{Enum: "WriteMode", Name: "WRITE_MODE_BINARY", Value: int64(peer.WriteBinary)},
			{Enum: "State", Name: "STATE_CONNECTING", Value: int64(peer.StateConnecting)},
			{Enum: "State", Name: "STATE_OPEN", Value: int64(peer.StateOpen)},
			{Enum: "State", Name: "STATE_CLOSING", Value: int64(peer.StateClosing)},
			{Enum: "State", Name: "STATE_CLOSED", Value: int64(peer.StateClosed)},
		},
	}
	b := bindings.Bind(peerClass, func(p *wsPeer) sync.Locker { return p.mu })
	b.Func("close", closeArgs, bindings.TypeInt, "", func(p *wsPeer, c bindings.Call) {
		if p.conn == nil {
			c.ReturnInt(fail("close", "the peer has no connection", errUnconfigured))
			return
		}
		c.ReturnInt(godotError("close", p.conn.Close(int(c.Int(0)), c.String(1))))
	})
	b.Func("get_connected_host", nil, bindings.TypeString, "", func(p *wsPeer, c bindings.Call) {
		if p.conn != nil {
			c.ReturnString(p.conn.RemoteHost())
		}
	})
	b.Func("get_connected_port", nil, bindings.TypeInt, "", func(p *wsPeer, c bindings.Call) {
		if p.conn != nil {
			c.ReturnInt(int64(p.conn.RemotePort()))
		}
	})
	b.Func("get_write_mode", nil, bindings.TypeInt, writeMode, func(p *wsPeer, c bindings.Call) { c.ReturnInt(int64(p.writeMode)) })
	b.Method("set_write_mode", []bindings.Arg{{Name: "mode", Type: bindings.TypeInt, Class: writeMode}}, func(p *wsPeer, c bindings.Call) {
		// Stored here and used by later sends (put_packet), so it is checked now.
		mode := peer.WriteMode(c.Int(0))
		if mode != peer.WriteText && mode != peer.WriteBinary {
			fail("set_write_mode", "mode must be WRITE_MODE_TEXT or WRITE_MODE_BINARY", errInvalidParameter)
			return
		}
		p.writeMode = mode
	})
	b.Func("is_connected_to_host", nil, bindings.TypeBool, "", func(p *wsPeer, c bindings.Call) { c.ReturnBool(p.state() == peer.StateOpen) })
	b.Func("was_string_packet", nil, bindings.TypeBool, "", func(p *wsPeer, c bindings.Call) { c.ReturnBool(p.wasText) })
	b.Func("send", []bindings.Arg{{Name: "data", Type: bindings.TypePackedByteArray}, {Name: "mode", Type: bindings.TypeInt, Class: writeMode, Default: int(peer.WriteBinary)}},
		bindings.TypeInt, "", func(p *wsPeer, c bindings.Call) {
			c.ReturnInt(p.send("send", c.Bytes(0), peer.WriteMode(c.Int(1))))
		})
	b.Func("send_text", []bindings.Arg{{Name: "text", Type: bindings.TypeString}}, bindings.TypeInt, "", func(p *wsPeer, c bindings.Call) {
		c.ReturnInt(p.send("send_text", []byte(c.String(0)), peer.WriteText))
	})
	b.Func("get_ready_state", nil, bindings.TypeInt, state, func(p *wsPeer, c bindings.Call) { c.ReturnInt(int64(p.state())) })
	b.Func("get_close_code", nil, bindings.TypeInt, "", func(p *wsPeer, c bindings.Call) {
		code := int64(-1)
		if p.conn != nil && p.conn.State() == peer.StateClosed {
			code = int64(p.conn.CloseCode())
		}
		c.ReturnInt(code)
	})
	b.Func("get_close_reason", nil, bindings.TypeString, "", func(p *wsPeer, c bindings.Call) {
		if p.conn != nil && p.conn.State() == peer.StateClosed {
			c.ReturnString(p.conn.CloseReason())
		}
	})
	b.Func("get_selected_protocol", nil, bindings.TypeString, "", func(p *wsPeer, c bindings.Call) {
		if p.conn != nil {
			c.ReturnString(p.conn.Protocol())
		}
	})
	b.Func("get_requested_url", nil, bindings.TypeString, "", func(p *wsPeer, c bindings.Call) {
		if p.conn != nil {
			c.ReturnString(p.conn.URL())
		}
	})
	b.Method("set_no_delay", []bindings.Arg{{Name: "enabled", Type: bindings.TypeBool}}, func(p *wsPeer, c bindings.Call) {
		if p.conn == nil {
			fail("set_no_delay", "the peer has no connection", errUnconfigured)
			return
		}
		if err := p.conn.SetNoDelay(c.Bool(0)); err != nil {
			godotError("set_no_delay", err)
		}
	})
	b.Func("get_current_outbound_buffered_amount", nil, bindings.TypeInt, "", func(p *wsPeer, c bindings.Call) {
		if p.conn != nil {
			c.ReturnInt(int64(p.conn.BufferedAmount()))
		}
	})
	b.Func("get_rtt_ms", nil, bindings.TypeFloat, "", func(p *wsPeer, c bindings.Call) {
		if p.conn != nil {
			c.ReturnFloat(float64(p.conn.RTT().Microseconds()) / 1000)
		}
	})
	b.Func("get_stats", nil, bindings.TypeDictionary, "", func(p *wsPeer, c bindings.Call) {
		var s peer.Stats
		if p.conn != nil {
			s = p.conn.Stats()
		}
		returnStats(c, s, false)
	})

	// PacketPeerExtension virtuals: get_packet, put_packet, get_var, ...
	b.Virtual("_get_packet", func(p *wsPeer, c bindings.Call) { // (r_buffer: const uint8_t **, r_buffer_size: int32_t *) -> Error
		ok := p.conn != nil && p.conn.ReadWith(func(data []byte, text bool) {
			p.wasText = text
			*(*unsafe.Pointer)(c.Pointer(0)) = p.buf.Set(data)
			*(*int32)(c.Pointer(1)) = int32(len(data))
		})
		if !ok {
			c.ReturnInt(fail("get_packet", "no packet available", errUnavailable))
			return
		}
		c.ReturnInt(errOK)
	})
	b.Virtual("_put_packet", func(p *wsPeer, c bindings.Call) { // (p_buffer: const uint8_t *, p_buffer_size: int) -> Error
		n := c.Int(1)
		var data []byte
		if n > 0 {
			data = unsafe.Slice((*byte)(c.Pointer(0)), int(n))
		}
		c.ReturnInt(p.send("put_packet", data, p.writeMode))
	})
	b.Virtual("_get_available_packet_count", func(p *wsPeer, c bindings.Call) {
		n := 0
		if p.conn != nil {
			n = p.conn.Available()
		}
		c.ReturnInt(int64(n))
	})
	b.Virtual("_get_max_packet_size", func(p *wsPeer, c bindings.Call) { c.ReturnInt(int64(p.maxPacket)) })
	bindings.Register(peerClass)
}

// closeArgs are the arguments (code: int = 1000, reason: String = "") that
// end close-like methods.
var closeArgs = []bindings.Arg{{Name: "code", Type: bindings.TypeInt, Default: 1000}, {Name: "reason", Type: bindings.TypeString, Default: ""}}

// returnStats returns the get_stats() Dictionary; server adds "peers".
func returnStats(c bindings.Call, s peer.Stats, server bool) {
	d := bindings.NewDictionary()
	d.SetInt("messages_in", s.MessagesIn)
	d.SetInt("messages_out", s.MessagesOut)
	d.SetInt("bytes_in", s.BytesIn)
	d.SetInt("bytes_out", s.BytesOut)
	d.SetInt("wire_bytes_in", s.WireBytesIn)
	d.SetInt("wire_bytes_out", s.WireBytesOut)
	d.SetInt("queued_in", s.QueuedIn)
	d.SetInt("queued_out", s.QueuedOut)
	d.SetFloat("rtt_ms", float64(s.RTT.Microseconds())/1000)
	if server {
		d.SetInt("peers", int64(s.Peers))
	}
	c.ReturnDictionary(d)
	d.Free()
}

// newPeerObject makes a GoWebSocketPeer for conn sharing mu; the caller owns
// one reference.
func newPeerObject(mu *sync.Mutex, conn *peer.Conn, maxPacket int) (bindings.Object, *wsPeer) {
	obj, self := bindings.Instantiate(peerClass)
	p := self.(*wsPeer)
	p.mu, p.conn, p.maxPacket = mu, conn, maxPacket
	return obj, p
}
