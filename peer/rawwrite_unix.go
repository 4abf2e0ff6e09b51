//go:build unix

package peer

import "syscall"

// directWrites: the caller thread may write to sockets with rawWrite.
const directWrites = true

// rawWrite is one write(2) on a non-blocking socket.
func rawWrite(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }
