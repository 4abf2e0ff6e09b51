package peer

// arrivals lists the messages Poll made readable, over every peer of a
// server, in the order they arrived, so that ReadNext can take them in that
// order. Each entry names a connection and the message's number in it
// (Conn.delivered before it was added); an entry whose message was already
// taken through the connection itself (Read, ReadWith) is skipped. Caller
// thread only.
type arrivals struct {
	list []arrival
	head int
	used bool // ReadNext was called: keep the entries of ended peers until read
}

type arrival struct {
	c   *Conn
	seq uint64
}

func (a *arrivals) add(c *Conn) { a.list = append(a.list, arrival{c, c.delivered - 1}) }

// prune drops the entries already read, so the list stays as long as what is
// unread. Until ReadNext is first called it also drops those of peers the
// server no longer knows: a caller that reads only through the connections
// cannot reach them (Server.Peer), and they would keep ended connections alive.
func (a *arrivals) prune(known map[int32]*Conn) {
	k := 0
	for _, e := range a.list[a.head:] {
		if e.seq < e.c.taken || (!a.used && known[e.c.id] != e.c) {
			continue
		}
		a.list[k] = e
		k++
	}
	clear(a.list[k:])
	a.list, a.head = a.list[:k], 0
}

// ReadNext hands the oldest unread message of any peer to f, as ReadWith
// does (data is valid only during the call), and reports whether there was
// one. Messages come in the order Poll made them readable, across peers and
// within each; one already taken through its connection (Read, ReadWith) is
// not handed out again. Messages a peer sent before it ended stay readable
// here (as through its Conn) once ReadNext has been called. Caller goroutine.
func (s *Server) ReadNext(f func(c *Conn, data []byte, text bool)) bool {
	a := &s.arrivals
	a.used = true
	for a.head < len(a.list) {
		e := a.list[a.head]
		a.list[a.head] = arrival{}
		a.head++
		if e.seq < e.c.taken {
			continue
		}
		m, ok := e.c.pop()
		if !ok {
			continue // not reached: an entry not yet taken is in the queue
		}
		f(e.c, m.Data, m.Text)
		if m.buf != nil {
			putBuf(m.buf)
		}
		return true
	}
	a.list, a.head = a.list[:0], 0
	return false
}
