package peer

import (
	"errors"
	"math/bits"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// batchLimit is the most bytes countingConn buffers during a write batch
// before it writes them out.
const batchLimit = 64 << 10

// maskChunk is how much of a large masked payload writeFrame masks before
// writing it: little enough to be in cache still when the kernel copies it.
const maskChunk = 256 << 10

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, batchLimit); return &b }}

// countingConn wraps the TCP connection under gorilla (and under TLS when
// there is TLS). It counts the bytes on the wire, lets the writer goroutine
// batch many frames into one write syscall (beginBatch/endBatch), and, once
// the WebSocket is established, ignores the write deadlines gorilla sets per
// frame: bounded closing is done by closing the socket instead, so a deadline
// left over from a control frame can never cut a later batched write short.
type countingConn struct {
	net.Conn    // swapped once, by takeOver under swapMu
	swapMu      sync.Mutex
	in, out     atomic.Int64
	established atomic.Bool

	tw tryWriter // for endBatchTry (Poll's writes); nil where Poll does not write

	mu       sync.Mutex // guards the fields below and serializes writes
	batching bool
	trying   bool    // batch of the caller thread: Write never blocks
	buf      *[]byte // batched bytes not yet written (after endBatchTry: the unwritten rest)
	werr     error

	// Bytes Poll read but left to the reader goroutine (fastpath.Owner.HandOver), read
	// before the socket; then preErr. Handed over with the read side.
	pre    *[]byte
	preOff int
	preErr error
}

func newCountingConn(nc net.Conn, noDelay *bool) *countingConn {
	if noDelay != nil {
		if t, ok := nc.(*net.TCPConn); ok {
			_ = t.SetNoDelay(*noDelay)
		}
	}
	return &countingConn{Conn: nc, tw: newTryWriter(nc)}
}

// closeConn closes the connection below (from any goroutine, also while
// attach swaps it).
func (c *countingConn) closeConn() error {
	c.swapMu.Lock()
	nc := c.Conn
	c.swapMu.Unlock()
	return nc.Close()
}

// CloseWrite half-closes the TCP connection (FIN), after pending bytes.
func (c *countingConn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.flushLocked()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.pre != nil {
		n := copy(p, (*c.pre)[c.preOff:])
		c.preOff += n
		if c.preOff == len(*c.pre) {
			*c.pre = (*c.pre)[:0]
			batchPool.Put(c.pre)
			c.pre, c.preOff = nil, 0
		}
		return n, nil
	}
	if c.preErr != nil {
		err := c.preErr
		c.preErr = nil
		return 0, err
	}
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if c.batching && (c.trying || len(p) < batchLimit/2) {
		if c.buf == nil {
			c.buf = batchPool.Get().(*[]byte)
		}
		if !c.trying && len(*c.buf)+len(p) > batchLimit {
			if err := c.flushLocked(); err != nil {
				return 0, err
			}
		}
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.writeRaw(p)
}

// writeFrame writes a frame's header and payload with nothing between them
// (a batch buffers both, or the header goes out with the batch and the
// payload right after it). hdr is copied, so it may live on the stack. A
// non-zero key masks p: as it is copied into the batch, or in place one
// chunk at a time right before the chunk is written (still in cache).
func (c *countingConn) writeFrame(hdr, p []byte, key uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if c.buf == nil {
		c.buf = batchPool.Get().(*[]byte)
	}
	small := c.batching && (c.trying || len(p) < batchLimit/2)
	if small && !c.trying && len(*c.buf)+len(hdr)+len(p) > batchLimit {
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	*c.buf = append(*c.buf, hdr...)
	if small {
		if key == 0 {
			*c.buf = append(*c.buf, p...)
		} else {
			n := len(*c.buf)
			*c.buf = slices.Grow(*c.buf, len(p))[:n+len(p)]
			maskCopy((*c.buf)[n:], p, key)
		}
		return nil
	}
	err := c.flushLocked()
	for len(p) > 0 && err == nil {
		chunk := p[:min(len(p), maskChunk)]
		if key != 0 {
			maskCopy(chunk, chunk, key) // maskChunk is a multiple of 4: the key lines up
		}
		_, err = c.writeRaw(chunk)
		p = p[len(chunk):]
	}
	if !c.batching {
		c.dropBuf()
	}
	return err
}

// setPre queues rest (copied) and err for Read, after what is queued.
func (c *countingConn) setPre(rest []byte, err error) {
	if len(rest) > 0 {
		if c.pre == nil {
			c.pre = batchPool.Get().(*[]byte)
		}
		*c.pre = append(*c.pre, rest...)
	}
	if err != nil && c.preErr == nil {
		c.preErr = err
	}
}

func (c *countingConn) writeRaw(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	if err != nil {
		c.werr = err
	}
	return n, err
}

func (c *countingConn) flushLocked() error {
	if c.buf == nil || len(*c.buf) == 0 {
		return nil
	}
	_, err := c.writeRaw(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

func (c *countingConn) beginBatch() {
	c.mu.Lock()
	c.batching = true
	c.mu.Unlock()
}

// endBatch writes out what the batch buffered (and any rest an earlier
// endBatchTry left).
func (c *countingConn) endBatch() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = false
	err := c.flushLocked()
	c.dropBuf()
	if err == nil {
		err = c.werr
	}
	return err
}

// beginBatchTry starts a batch whose Writes only buffer (flushDirect keeps
// it small), ended by endBatchTry.
func (c *countingConn) beginBatchTry() {
	c.mu.Lock()
	c.batching, c.trying = true, true
	c.mu.Unlock()
}

// pending reports bytes an earlier endBatchTry could not write.
func (c *countingConn) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf != nil && len(*c.buf) > 0
}

// endBatchTry ends a batch with one non-blocking write: what the socket does
// not take stays buffered, and pending reports it (a later Write or endBatch
// writes it first). Used from the caller thread, which must never block.
func (c *countingConn) endBatchTry() (pending bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching, c.trying = false, false
	if c.werr != nil {
		return false, c.werr
	}
	if c.buf == nil || len(*c.buf) == 0 {
		c.dropBuf()
		return false, nil
	}
	b := *c.buf
	n, werr := c.tw.tryWrite(b)
	c.out.Add(int64(n))
	if werr != nil {
		c.werr = werr
		c.dropBuf()
		return false, werr
	}
	if n == len(b) {
		c.dropBuf()
		return false, nil
	}
	*c.buf = b[:copy(b, b[n:])]
	return true, nil
}

func (c *countingConn) dropBuf() {
	if c.buf != nil {
		*c.buf = (*c.buf)[:0]
		batchPool.Put(c.buf)
		c.buf = nil
	}
}

func (c *countingConn) SetWriteDeadline(t time.Time) error {
	if c.established.Load() {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *countingConn) SetDeadline(t time.Time) error {
	if c.established.Load() {
		return c.Conn.SetReadDeadline(t)
	}
	return c.Conn.SetDeadline(t)
}

// setNoDelay sets TCP_NODELAY (any goroutine: it reads the connection
// under swapMu, as takeOver may swap it meanwhile).
func (c *countingConn) setNoDelay(on bool) error {
	c.swapMu.Lock()
	nc := c.Conn
	c.swapMu.Unlock()
	if t, ok := nc.(interface{ SetNoDelay(bool) error }); ok {
		return t.SetNoDelay(on)
	}
	return ErrInvalidArgument
}

// countingListener wraps accepted connections in countingConn.
type countingListener struct {
	net.Listener
	noDelay *bool
}

func (l countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return nil, err // Stop
		}
		return nil, acceptError{err}
	}
	return newCountingConn(nc, l.noDelay), nil
}

// acceptError is an Accept failure while the listener is open, reported
// as temporary: http.Server.Serve then waits (5 ms, doubling up to 1 s) and
// accepts again, where it would return on any other error and leave the
// Server listening in name only (Listening true, the port bound, no
// connection ever answered). Which errors an accept can end with depends
// on the platform: under wine 8.0 on a loaded machine, with hundreds of
// connections a second coming and going, the accept loop of TestSoak's
// server ended (a goroutine dump had no accept goroutine left; which error
// it was is not known) and every handshake after it timed out.
type acceptError struct{ err error }

func (e acceptError) Error() string   { return e.err.Error() }
func (e acceptError) Unwrap() error   { return e.err }
func (e acceptError) Timeout() bool   { return false }
func (e acceptError) Temporary() bool { return true }

// Outbound message buffers come from size-classed pools (64 B .. 4 MiB) so a
// steady stream of Send calls allocates nothing.
const (
	minBufShift = 6
	maxBufShift = 22
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

// poolTrace, when set (tests, while nothing else runs), sees every pooled
// buffer taken (+1) and given back (-1).
var poolTrace func(delta int)

func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufShift
}

func getBuf(n int) *[]byte {
	cls := bufClass(n)
	if cls >= len(bufPools) {
		b := make([]byte, n)
		return &b
	}
	if poolTrace != nil {
		poolTrace(1)
	}
	if v := bufPools[cls].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<(cls+minBufShift))
	return &b
}

func putBuf(b *[]byte) {
	c := cap(*b)
	cls := bufClass(c)
	if cls < len(bufPools) && c == 1<<(cls+minBufShift) {
		if poolTrace != nil {
			poolTrace(-1)
		}
		bufPools[cls].Put(b)
	}
}
