//go:build !unix

package peer

import "errors"

// directWrites is off: only the writer goroutine writes (Poll does not).
const directWrites = false

func rawWrite(uintptr, []byte) (int, error) {
	return 0, errors.New("no direct writes on this platform")
}
