//go:build !linux

package peer

import (
	"net"
	"syscall"
)

// directReads: only Linux has them so far (see direct.go); elsewhere the
// reader goroutine reads everything.
const directReads = false

func peekSocket(uintptr, []byte) (int, error) { return -1, syscall.EINVAL }
func readSocket(uintptr, []byte) (int, error) { return -1, syscall.EINVAL }

type directSet struct{ msgs []Message }

// fdConn is Linux's socket outside Go's poller (fdconn_linux.go).
type fdConn struct{ net.Conn }

func takeFD(net.Conn) *fdConn { return nil }

type fdRaw struct{ c *fdConn }

func (fdRaw) Control(func(uintptr)) error    { return syscall.EINVAL }
func (fdRaw) Read(func(uintptr) bool) error  { return syscall.EINVAL }
func (fdRaw) Write(func(uintptr) bool) error { return syscall.EINVAL }
func (h *hub) addDirect(*Conn)               {}
func (h *hub) removeDirect(*Conn)            {}
func (h *hub) readDirectAll()                {}
func (h *hub) closeDirect()                  {}
func (h *hub) directBuf() []byte             { return nil }
