//go:build linux

package peer

import "github.com/gowebsocket/godot-gowebsocket/peer/internal/fastpath"

// On Linux the fast path also reads (internal/fastpath): a plain TCP
// socket leaves Go's poller for the hub's own epoll set, and Poll reads
// complete frames from it while its reader goroutine waits between frames.
func init() {
	newHubPath = func() hubPath { return &linuxPath{set: fastpath.NewSet()} }
}

// linuxPath is a hub's fast path: its epoll set.
type linuxPath struct {
	set  *fastpath.Set
	msgs []Message // caller goroutine: Poll's scratch
}

// readerOf is c's read side shared with Poll (nil when Poll does not read
// c's socket).
func readerOf(c *Conn) *fastpath.Reader {
	r, _ := c.fp.(*fastpath.Reader)
	return r
}

func (p *linuxPath) adopt(c *Conn, cc *countingConn, wc *watchConn) connPath {
	fc := takeOver(cc)
	if fc == nil {
		return nil
	}
	return fastpath.NewReader(fc, &connOwner{c: c, cc: cc, p: p}, !wc.client)
}

func (p *linuxPath) add(_ *hub, c *Conn) {
	if r := readerOf(c); r != nil {
		p.set.Add(r)
	}
}

func (p *linuxPath) remove(_ *hub, c *Conn) {
	if r := readerOf(c); r != nil {
		p.set.Remove(r)
	}
}

func (p *linuxPath) readAll(*hub) { p.set.ReadAll() }
func (p *linuxPath) close(*hub)   { p.set.Close() }

// takeOver moves cc's TCP socket to a fastpath.Socket (attach, before the
// goroutines start); nil where that is not done (not TCP, or closed
// meanwhile).
func takeOver(cc *countingConn) *fastpath.Socket {
	cc.swapMu.Lock()
	defer cc.swapMu.Unlock()
	fc := fastpath.TakeFD(cc.Conn)
	if fc != nil {
		cc.Conn = fc
		cc.tw = newRawTryWriter(fc.RawConn())
	}
	return fc
}

// connOwner is a connection as its fastpath.Reader sees it.
type connOwner struct {
	c  *Conn
	cc *countingConn
	p  *linuxPath
}

func (o *connOwner) Open() bool                      { return o.c.phase.Load() == phOpen }
func (o *connOwner) HandedOver() bool                { return o.cc.pre != nil || o.cc.preErr != nil }
func (o *connOwner) HandOver(rest []byte, err error) { o.cc.setPre(rest, err) }

// Take queues the complete frames at the head of b as the reader would
// (Poll, while the Reader owns the read side).
func (o *connOwner) Take(b []byte, server bool) int {
	o.cc.in.Add(int64(len(b)))
	return o.c.takeDirect(b, server, &o.p.msgs)
}
