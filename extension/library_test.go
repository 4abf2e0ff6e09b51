package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// libraryPath is the built extension (make library-test sets GOWS_LIB).
func libraryPath(t *testing.T) string {
	lib := os.Getenv("GOWS_LIB")
	if lib == "" {
		t.Skip("GOWS_LIB is not set: run `make library-test` to check the built library")
	}
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("GOWS_LIB=%s: %v", lib, err)
	}
	return lib
}

func TestLibrarySizeUnder16MiB(t *testing.T) {
	lib := libraryPath(t)
	stripped := filepath.Join(t.TempDir(), "stripped.so")
	if out, err := exec.Command("strip", "-o", stripped, lib).CombinedOutput(); err != nil {
		t.Fatalf("strip: %v\n%s", err, out)
	}
	st, err := os.Stat(stripped)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stripped size: %.1f MiB", float64(st.Size())/(1<<20))
	if st.Size() > 16<<20 {
		t.Fatalf("stripped library is %d bytes, over 16 MiB", st.Size())
	}
}

func TestLibraryExportsOnlyTheEntrySymbol(t *testing.T) {
	lib := libraryPath(t)
	out, err := exec.Command("nm", "-D", "--defined-only", lib).Output()
	if err != nil {
		t.Fatalf("nm: %v", err)
	}
	var exported []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && (f[1] == "T" || f[1] == "D" || f[1] == "B") {
			exported = append(exported, f[2])
		}
	}
	if len(exported) != 1 || exported[0] != "gowebsocket_library_init" {
		t.Fatalf("exported symbols = %v, want only gowebsocket_library_init", exported)
	}
}

func TestLibraryRefusesAnEngineWithoutInterface(t *testing.T) {
	lib := libraryPath(t)
	loader := filepath.Join(t.TempDir(), "loader")
	if out, err := exec.Command("gcc", "-o", loader, "testdata/loader.c", "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	out, err := exec.Command(loader, lib).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("loader: %v (the entry must return false, not crash)", err)
	}
}
