package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWindowsDLLRefusesAnEngineWithoutInterface loads the Windows DLL for real,
// under wine: a mingw-built loader LoadLibrary's it, finds the entry symbol and
// calls it with a get_proc_address that returns NULL for everything. `make
// wine-test` sets GOWS_DLL and a WINEPREFIX that has the test-only ProcessPrng
// stand-in (tools/testonly/).
func TestWindowsDLLRefusesAnEngineWithoutInterface(t *testing.T) {
	dll := os.Getenv("GOWS_DLL")
	if dll == "" {
		t.Skip("GOWS_DLL is not set: run `make wine-test` (needs mingw-w64 and wine64)")
	}
	if os.Getenv("WINEPREFIX") == "" {
		t.Fatal("GOWS_DLL is set but WINEPREFIX is not: the stand-in prefix is needed")
	}
	if _, err := os.Stat(dll); err != nil {
		t.Fatalf("GOWS_DLL=%s: %v", dll, err)
	}
	loader := filepath.Join(t.TempDir(), "loader.exe")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-o", loader, "testdata/loader_windows.c").CombinedOutput(); err != nil {
		t.Fatalf("mingw gcc: %v\n%s", err, out)
	}
	wine, err := exec.LookPath("wine")
	if err != nil {
		if wine, err = exec.LookPath("wine64"); err != nil {
			t.Fatal("no wine or wine64 in PATH")
		}
	}
	cmd := exec.Command(wine, loader, dll)
	cmd.Env = append(os.Environ(), "WINEDEBUG=-all")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("loader under wine: %v (the DLL must load and its entry return false, not crash)", err)
	}
	if !strings.Contains(string(out), "entry returned 0 and 0") {
		t.Fatalf("loader output lacks the refusal line")
	}
}
