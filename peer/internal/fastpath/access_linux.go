//go:build linux

package fastpath

import (
	"syscall"
	"time"
)

// RawConn is s's syscall.RawConn (Read waits as a parked reader does).
func (s *Socket) RawConn() syscall.RawConn { return fdRaw{s} }

// Fd is s's descriptor (tests).
func (s *Socket) Fd() int { return s.fd }

// Socket is the socket r reads.
func (r *Reader) Socket() *Socket { return r.fc }

// HandOvers counts the times Poll handed bytes over to the reader goroutine
// (tests).
func (r *Reader) HandOvers() int64 { return r.handOvers.Load() }

// Parked reports whether the reader goroutine waits between frames, which
// Poll serves while it polls (tests).
func (r *Reader) Parked() bool { return r.fc.rwait.Load() == waitLazy }

// Quiet reports whether the poller leaves the sockets to Poll (tests).
func (d *Set) Quiet() bool { return d.mode.Load() == modeQuiet }

// IdleLimit is how long Poll may stay away before the poller watches the
// sockets (tests).
func (d *Set) IdleLimit() time.Duration { return d.idleLimit() }
