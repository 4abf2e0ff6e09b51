// Package interop checks peer/ against WebSocket implementations nobody here
// wrote: Node's ws (node/), Python's websockets (python/), Godot 3.2's
// WebSocketClient and WebSocketServer (godot3/) and Chromium's WebSocket
// (chromium/). Each runs as a process started and killed by the test, on
// loopback, as an echo peer driven by text commands (commands_test.go).
// infra_test.go puts our server behind nginx and HAProxy, started the same way
// with configs the tests write (.ci/run installs both).
//
// A missing tool skips its tests, unless GOWS_REQUIRE_INTEROP=1 (CI), which
// makes it a failure. interop/setup.sh installs them all.
package interop

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine (ours or peer/'s) outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// timeout bounds every single wait of a test (a message, a close, a line
// printed by a peer); procTimeout bounds each peer process's whole life.
const (
	timeout     = 20 * time.Second
	procTimeout = 2 * time.Minute
)

func required() bool { return os.Getenv("GOWS_REQUIRE_INTEROP") == "1" }

// unavailable skips the test, or fails it under GOWS_REQUIRE_INTEROP=1 so CI
// cannot pass by skipping.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if required() {
		t.Fatalf("GOWS_REQUIRE_INTEROP=1: "+format+"; run interop/setup.sh", args...)
	}
	t.Skipf(format+"; run interop/setup.sh", args...)
}

// need returns the path of a tool that must also run `tool check...`
// successfully (a probe such as --version or an import).
func need(t *testing.T, tool string, check ...string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil && len(check) > 0 {
		var out []byte
		if out, err = exec.Command(p, check...).CombinedOutput(); err != nil {
			err = &probeError{err, strings.TrimSpace(string(out))}
		}
	}
	if err != nil {
		unavailable(t, "%s is not usable: %v", tool, err)
	}
	return p
}

type probeError struct {
	err error
	out string
}

func (e *probeError) Error() string { return e.err.Error() + ": " + e.out }

var versions sync.Map // tool -> version string, logged once per test binary

// logVersion logs a peer implementation's version the first time it is used.
func logVersion(t *testing.T, tool string, version func() string) {
	t.Helper()
	if _, seen := versions.Load(tool); seen {
		return
	}
	v := version()
	versions.Store(tool, v)
	t.Logf("peer implementation: %s %s", tool, v)
}

func commandOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil && len(out) == 0 {
		return "(unknown: " + err.Error() + ")"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}
