//go:build pin

// This file is never built. It keeps godot-go in the module graph when
// `go mod tidy` runs: go.mod pins it at v0.3.21 because
// include/gdextension_interface.h is that version's copy of Godot 4.5's
// header (header_test.go checks it byte for byte). The library itself calls
// the interface through its own loader (gde.c) and imports no godot-go code.
package bindings

import _ "github.com/godot-go/godot-go/pkg/ffi"
