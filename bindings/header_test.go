package bindings

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHeaderIsGodotGoPinnedCopy checks that include/gdextension_interface.h is
// byte for byte the Godot 4.5 header bundled with the godot-go version pinned
// in go.mod, so the pin (and not a hand-edited copy) decides the interface.
func TestHeaderIsGodotGoPinnedCopy(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}} {{.Dir}}", "github.com/godot-go/godot-go").Output()
	if err != nil {
		t.Fatalf("go list godot-go: %v", err)
	}
	version, dir, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if version != "v0.3.21" {
		t.Fatalf("go.mod pins godot-go %s; the bundled header is v0.3.21's", version)
	}
	if dir == "" {
		t.Fatal("godot-go is not in the module cache: run `go mod download`")
	}
	want, err := os.ReadFile(filepath.Join(dir, "godot_headers", "godot", "gdextension_interface.h"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("include", "gdextension_interface.h"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("include/gdextension_interface.h differs from godot-go v0.3.21's godot_headers/godot/gdextension_interface.h")
	}
}
