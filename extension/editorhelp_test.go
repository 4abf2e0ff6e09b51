package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	docclasses "github.com/gowebsocket/godot-gowebsocket/doc_classes"
)

// TestLibraryLoadsEditorHelpAtEditorLevel runs the built library's EDITOR
// initialization level in a stub engine (testdata/editorhelp.c): each
// embedded class reference document must reach the editor's help loader, and
// an engine without that loader must still load the library. (The engine
// tests run an export template, where the EDITOR level never runs.)
func TestLibraryLoadsEditorHelpAtEditorLevel(t *testing.T) {
	lib := libraryPath(t)
	harness := filepath.Join(t.TempDir(), "editorhelp")
	if out, err := exec.Command("gcc", "-o", harness, "-I", "../bindings/include", "testdata/editorhelp.c", "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	out, err := exec.Command(harness, lib, "with").CombinedOutput()
	t.Logf("with the loader:\n%s", out)
	if err != nil {
		t.Fatalf("editorhelp with: %v", err)
	}
	want := len(docclasses.Documents())
	if !strings.Contains(string(out), fmt.Sprintf("%d documents loaded, 0 malformed", want)) {
		t.Errorf("want all %d embedded documents loaded", want)
	}
	out, err = exec.Command(harness, lib, "without").CombinedOutput()
	t.Logf("without the loader:\n%s", out)
	if err != nil || !strings.Contains(string(out), "0 documents loaded") {
		t.Fatalf("editorhelp without: %v (the library must load and skip the editor help)", err)
	}
}
