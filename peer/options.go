package peer

import (
	"time"
)

// limits are Options with defaults applied.
type limits struct {
	inBuf, outBuf, maxPk int64
	hb, pongTO, closeTO  time.Duration
	handshakeTO          time.Duration
	noDeflate            bool // no permessage-deflate (see Conn.ownFrames)
	client               bool // our frames are masked
}

func resolve(o *Options) limits {
	l := limits{
		inBuf:       int64(o.InboundBufferSize),
		outBuf:      int64(o.OutboundBufferSize),
		maxPk:       int64(o.MaxQueuedPackets),
		hb:          o.HeartbeatInterval,
		pongTO:      o.PongTimeout,
		closeTO:     o.CloseTimeout,
		handshakeTO: o.HandshakeTimeout,
		noDeflate:   !o.Compression,
	}
	if l.inBuf <= 0 {
		l.inBuf = DefaultInboundBufferSize
	}
	if l.outBuf <= 0 {
		l.outBuf = DefaultOutboundBufferSize
	}
	if l.maxPk <= 0 {
		l.maxPk = DefaultMaxQueuedPackets
	}
	if l.hb < 0 {
		l.hb = 0
	}
	if l.pongTO <= 0 {
		l.pongTO = 2 * l.hb
	}
	if l.closeTO <= 0 {
		l.closeTO = DefaultCloseTimeout
	}
	if l.handshakeTO <= 0 {
		l.handshakeTO = DefaultHandshakeTimeout
	}
	return l
}
