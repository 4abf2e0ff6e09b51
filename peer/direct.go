package peer

import (
	"encoding/binary"
	"unicode/utf8"
)

// Frames Poll takes from a socket itself (a platform's fast path, see
// fastpath.go), and masking.

// Poll takes at most this many frames per connection and call (and at most
// fastpath.ReadMax bytes); the rest is the reader goroutine's, so bulk
// transfers keep their own core.
const directReadFrames = 64

// takeDirect queues the complete plain data frames at the head of b, read
// from the socket by Poll, as the reader goroutine would queue them, and
// returns the bytes they span (a platform's fast path; caller goroutine,
// while the fast path owns the read side). msgs is scratch.
func (c *Conn) takeDirect(b []byte, server bool, msgs *[]Message) int {
	ms := (*msgs)[:0]
	used := c.takeFrames(b, server, &ms)
	for i := range ms {
		c.msgsIn.Add(1)
		c.directIn.Add(1)
		c.bytesIn.Add(int64(len(ms[i].Data)))
		c.queueIn(ms[i])
		ms[i] = Message{}
	}
	*msgs = ms[:0]
	return used
}

// takeFrames parses complete plain data frames from b into msgs (unmasked
// copies in pooled buffers) within the inbound limits and returns the bytes
// they span. It stops at the first frame it does not take whole.
func (c *Conn) takeFrames(b []byte, server bool, msgs *[]Message) int {
	cnt, bytes := c.inCount.Load(), c.inBytes.Load()
	i := 0
	for len(*msgs) < directReadFrames && len(b)-i >= 2 {
		b0, b1 := b[i], b[i+1]
		op := b0 & 0x0F
		if b0&0xF0 != 0x80 || (op != 1 && op != 2) || (b1&0x80 != 0) != server {
			break // not final, RSV bits, control, continuation, wrong mask
		}
		hl := 2
		l := uint64(b1 & 0x7F)
		switch l {
		case 126:
			if len(b)-i < 4 {
				return i
			}
			l = uint64(binary.BigEndian.Uint16(b[i+2:]))
			hl = 4
		case 127:
			if len(b)-i < 10 {
				return i
			}
			l = binary.BigEndian.Uint64(b[i+2:])
			hl = 10
		}
		if server {
			hl += 4
		}
		if len(b)-i < hl {
			break // the mask key is not all here
		}
		if l > uint64(c.lim.inBuf) || uint64(len(b)-i-hl) < l {
			break // too big (gorilla fails it) or not all here
		}
		if cnt >= c.lim.maxPk || (bytes != 0 && bytes+int64(l) > c.lim.inBuf) {
			break // the queue is full: the reader waits for room
		}
		p := b[i+hl : i+hl+int(l)]
		var m Message
		if l > 0 {
			m.buf = getBuf(int(l))
			m.Data = *m.buf
			if server {
				maskCopy(m.Data, p, binary.LittleEndian.Uint32(b[i+hl-4:]))
			} else {
				copy(m.Data, p)
			}
		}
		m.Text = op == 1
		if m.Text && !utf8.Valid(m.Data) {
			if m.buf != nil {
				putBuf(m.buf)
			}
			break // the reader fails it with 1007
		}
		*msgs = append(*msgs, m)
		cnt++
		bytes += int64(l)
		i += hl + int(l)
	}
	return i
}

// maskCopy sets dst to src XOR the masking key (key: the 4 key bytes read
// little-endian), eight bytes at a time.
func maskCopy(dst, src []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	i := 0
	dst = dst[:len(src)] // (one bounds check for the loops below)
	for ; i+32 <= len(src); i += 32 {
		s, d := src[i:i+32], dst[i:i+32]
		binary.LittleEndian.PutUint64(d[0:], binary.LittleEndian.Uint64(s[0:])^k8)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k8)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k8)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k8)
	}
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k8)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] ^ byte(key>>(8*(i&3)))
	}
}
