//go:build !unix

package peer

import "testing"

// raiseFileLimit: Windows has no per-process descriptor limit to raise.
func raiseFileLimit(t *testing.T, n uint64) {}
