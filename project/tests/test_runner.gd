extends SceneTree
## Runs every test_* method of the suites below, headless:
##   godot --headless --path project --script res://tests/test_runner.gd
## A test passes when it returns true having recorded no failure; a script
## error aborts the method (it returns null) and counts as a failure.

const SUITES := [
	"res://tests/test_docs.gd",
	"res://tests/test_api.gd",
	"res://tests/test_interop.gd",
	"res://tests/test_features.gd",
	"res://tests/test_multiplayer.gd",
	"res://tests/test_infra.gd",
]


var _started := false


# Runs in the first frame, not in _initialize: only then is the root in the
# tree (the multiplayer suite adds scene-tree branches).
func _process(_delta: float) -> bool:
	if not _started:
		_started = true
		_run()
	return false


func _run() -> void:
	var passed := 0
	var failed := 0
	if not ClassDB.class_exists("GoWebSocketClient"):
		print("FAIL extension not loaded: GoWebSocketClient is not a class")
		print("0 passed, 1 failed")
		quit(1)
		return
	var only := OS.get_environment("GOWS_SUITE")  # e.g. test_multiplayer: run one suite
	for path in SUITES:
		if only != "" and not path.ends_with(only + ".gd"):
			continue
		var suite = load(path).new()
		for m in suite.get_method_list():
			var name: String = m["name"]
			if not name.begins_with("test_"):
				continue
			suite.failures.clear()
			var started := Time.get_ticks_usec()
			var result = suite.call(name)
			var ms := (Time.get_ticks_usec() - started) / 1000.0
			if result == true and suite.failures.is_empty():
				passed += 1
				print("PASS %s (%.0f ms)" % [name, ms])
			else:
				failed += 1
				var why := "; ".join(suite.failures) if not suite.failures.is_empty() else "aborted by a script error"
				print("FAIL %s: %s" % [name, why])
			suite.cleanup()
		suite.free()
	print("%d passed, %d failed" % [passed, failed])
	quit(0 if failed == 0 else 1)
