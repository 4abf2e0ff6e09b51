//go:build !linux

package peer

import "syscall"

// directReads: only Linux has them so far (see direct.go); elsewhere the
// reader goroutine reads everything.
const directReads = false

func peekSocket(uintptr, []byte) (int, error) { return -1, syscall.EINVAL }
func readSocket(uintptr, []byte) (int, error) { return -1, syscall.EINVAL }

type directSet struct{ msgs []Message }

func (h *hub) addDirect(*Conn)    {}
func (h *hub) removeDirect(*Conn) {}
func (h *hub) readDirectAll()     {}
func (h *hub) closeDirect()       {}
func (h *hub) directBuf() []byte  { return nil }
