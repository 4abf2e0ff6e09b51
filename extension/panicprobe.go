package main

import (
	"os"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
)

// registerPanicProbe adds GoWebSocketPanicProbe, a class whose methods panic
// on purpose, when GOWS_TEST_PANIC=1 is set at start-up (the engine tests set
// it). It proves that a Go panic in a callback is reported and recovered
// instead of crossing into the engine. Shipped games never see the class.
func registerPanicProbe() {
	if os.Getenv("GOWS_TEST_PANIC") != "1" {
		return
	}
	var nilMap map[string]int
	bindings.Register(&bindings.Class{
		Name:   "GoWebSocketPanicProbe",
		Parent: "RefCounted",
		New:    func(bindings.Object) any { return new(int) },
		Methods: []bindings.Method{
			{Name: "panic_now", Return: bindings.TypeInt, HasReturn: true, Call: func(any, bindings.Call) {
				panic("deliberate test panic")
			}},
			{Name: "nil_map_write", Call: func(any, bindings.Call) { nilMap["x"] = 1 }},
			{Name: "still_alive", Return: bindings.TypeInt, HasReturn: true, Call: func(_ any, c bindings.Call) { c.ReturnInt(42) }},
		},
	})
}
