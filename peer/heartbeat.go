package peer

import (
	"encoding/binary"
	"errors"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// Heartbeats: pings on a timer, pongs, the round trip.

func (c *Conn) hbTick() {
	t := c.hbTimer.Load()
	if t == nil {
		return
	}
	select {
	case <-c.dead:
		return
	default:
	}
	now := time.Since(c.t0)
	next := c.lim.hb
	if p := c.pingAt.Load(); p != 0 {
		left := time.Duration(p) + c.lim.pongTO - now
		if left <= 0 {
			c.fail(ErrPongTimeout)
			return
		}
		next = min(next, left)
	}
	c.pingDue.Store(true)
	c.signal()
	t.Reset(next)
}

func (c *Conn) sendPing() error {
	now := time.Since(c.t0)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(now))
	c.pingAt.CompareAndSwap(0, int64(now))
	return c.writeControl(websocket.PingMessage, b[:])
}

// onPing answers a ping (gorilla's default handler, under writeMu).
func (c *Conn) onPing(data string) error {
	err := c.writeControl(websocket.PongMessage, []byte(data))
	var ne net.Error
	if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}

func (c *Conn) onPong(data string) error {
	if len(data) != 8 {
		return nil
	}
	sent := time.Duration(binary.BigEndian.Uint64([]byte(data)))
	sample := time.Since(c.t0) - sent
	if sample < 0 {
		return nil
	}
	c.pingAt.Store(0)
	old := c.rtt.Load()
	if old == 0 {
		c.rtt.Store(int64(sample))
	} else {
		c.rtt.Store(old + (int64(sample)-old)/8) // EWMA, alpha 1/8 (as TCP's SRTT)
	}
	return nil
}
