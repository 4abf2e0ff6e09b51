// Command extension is the c-shared library Godot loads: the exported entry
// symbol and the three Godot-facing classes, each a small adapter from
// bindings to peer.
package main

/*
#include <stdint.h>
*/
import "C"

import (
	"unsafe"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	docclasses "github.com/gowebsocket/godot-gowebsocket/doc_classes"
)

// gowebsocket_library_init is the entry symbol named in the .gdextension file.
//
//export gowebsocket_library_init
func gowebsocket_library_init(getProcAddress, library, initialization unsafe.Pointer) C.uint8_t {
	bindings.SetEditorHelp(docclasses.Documents()...) // doc_classes/*.xml, for the editor only
	if bindings.Init("GoWebSocket", getProcAddress, library, initialization, register, unregister) {
		return 1
	}
	return 0
}

func register() {
	registerPeerClass()
	registerClientClass()
	registerServerClass()
	registerMultiplayerClass()
	registerPanicProbe()
}

func unregister() {}

func main() {}
