package interop

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a peer process. It runs in its own process group (Chromium and
// Godot start helpers) and the whole group is killed when the test ends, when
// procTimeout expires, or on kill(). Its stdout lines are collected for
// expect; its stderr is shown only if the test fails.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd

	mu     sync.Mutex
	lines  []string // printed so far
	next   int      // first line expect has not looked at
	eof    bool
	notify chan struct{} // a line arrived or stdout ended
	stderr lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs name args in dir ("" for the test's directory) with env added
// to the test's environment.
func start(t *testing.T, dir string, env []string, name string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	p := &proc{t: t, name: name, cmd: cmd, notify: make(chan struct{}, 1)}
	cmd.Stderr = &p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			p.wake()
		}
		p.mu.Lock()
		p.eof = true
		p.mu.Unlock()
		p.wake()
	}()
	t.Cleanup(func() {
		p.kill()
		<-scanned
		_ = cmd.Wait()
		cancel()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s printed: %q", name, p.lines)
			p.mu.Unlock()
			if s := p.stderr.String(); s != "" {
				t.Logf("%s stderr (tail):\n%s", name, tail(s, 3000))
			}
		}
	})
	return p
}

func (p *proc) wake() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// kill sends SIGKILL to the process and everything it started.
func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// expect waits for the next line starting with prefix (skipping others) and
// returns the rest, trimmed.
func (p *proc) expect(prefix string) string {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for p.next < len(p.lines) {
			l := p.lines[p.next]
			p.next++
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				p.mu.Unlock()
				return strings.TrimSpace(rest)
			}
		}
		eof, seen := p.eof, append([]string(nil), p.lines...)
		p.mu.Unlock()
		if eof {
			p.t.Fatalf("%s exited without printing %q (printed %q)", p.name, prefix, seen)
		}
		select {
		case <-p.notify:
		case <-deadline.C:
			p.t.Fatalf("%s did not print %q within %v (printed %q)", p.name, prefix, timeout, seen)
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
