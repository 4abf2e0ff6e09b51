#!/usr/bin/env bash
# Runs the GDScript tests (or, with "bench", the benchmark scene) inside a
# Godot 4 engine found through $GODOT4. Without an engine it prints one
# SKIPPED line and succeeds, so the rest of `make test` still runs (unless
# GOWS_REQUIRE_ALL=1, as in CI). GODOT4_RUNNER runs the engine through another
# program (wine for the Windows engine); GOWS_PROJECT tests another project
# folder (the release zip unpacked into a fresh project).
set -u
here=${GOWS_PROJECT:-$(cd "$(dirname "$0")/.." && pwd)}
godot=${GODOT4:-/opt/godot/godot4}
runner=${GODOT4_RUNNER:-}
# The class reference the doc suite checks (doc_classes/ of this repository,
# also when GOWS_PROJECT is another project; a Windows engine under wine
# finds it beside the project itself).
[ -n "$runner" ] || export GOWS_DOC_CLASSES=${GOWS_DOC_CLASSES:-$(cd "$(dirname "$0")/../.." && pwd)/doc_classes}
mode=${1:-test}
if [ ! -f "$godot" ] || { [ -z "$runner" ] && [ ! -x "$godot" ]; }; then
	echo "SKIPPED: engine tests need a Godot 4.5+ binary at \$GODOT4 (now: $godot) (install with: ${ENGINE_INSTALL:-/work/shared/engine/install})"
	[ "${GOWS_REQUIRE_ALL:-}" = 1 ] && { echo "GOWS_REQUIRE_ALL=1: the engine tests must run"; exit 1; }
	exit 0
fi
label=${runner:+ (under $runner)}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ "$mode" = bench ]; then
	[ -z "$runner" ] || echo "benchmark under $runner: $godot against the Windows DLL (both pairs in the same run, so under $runner too)"
	timeout 600 $runner "$godot" --headless --path "$here" --script res://bench/bench.gd
	exit $?
fi
# --verbose makes the engine report orphan StringNames and leaked objects at exit.
GOWS_TEST_PANIC=1 timeout 600 $runner "$godot" --headless --verbose --path "$here" --script res://tests/test_runner.gd >"$log" 2>&1
rc=$?
grep -vE '^(Loaded|Using|TextServer|Registering|Unregistering|Orphan|   at:)|^\s*$' "$log" | grep -E 'PASS|FAIL|passed|ERROR|SCRIPT|leak|Leak|panic|SKIP' | grep -v '^ERROR: GoWebSocket.*expected' | tail -n 200
# The panic probe's own panics are expected (test_go_panic_does_not_cross_into_the_engine).
problems=$(grep -E 'ObjectDB instances leaked|Orphan StringName|resources still in use|panic in|SCRIPT ERROR' "$log" | grep -vE 'panic in (panic_now|nil_map_write):' || true)
if [ -n "$problems" ]; then
	echo "engine reported problems$label:"; echo "$problems" | head -20
	rc=1
fi
# The chat demo, headless for 1000 frames (300 were too few once under load):
# both clients' greetings must come back.
demo=$(timeout 120 $runner "$godot" --headless --path "$here" res://demo/chat.tscn --quit-after 1000 2>&1)
if echo "$demo" | grep -q '^you: hello!' && echo "$demo" | grep -q '^bot: hello!' && ! echo "$demo" | grep -q 'SCRIPT ERROR'; then
	echo "PASS chat demo (server relayed both greetings)$label"
else
	echo "FAIL chat demo$label:"; echo "$demo" | tail -n 20
	rc=1
fi
# The multiplayer demo, headless for 3 seconds: each client must see the other's player move.
demo=$(timeout 120 $runner "$godot" --headless --path "$here" res://demo/multiplayer.tscn -- --autoquit=3 2>&1)
if echo "$demo" | grep -q '^Client1 (peer [0-9]*) sees peer [0-9]* moving' && echo "$demo" | grep -q '^Client2 (peer [0-9]*) sees peer [0-9]* moving' \
	&& ! echo "$demo" | grep -qE 'SCRIPT ERROR|^ERROR'; then
	echo "PASS multiplayer demo (each client saw the other's player move)$label"
else
	echo "FAIL multiplayer demo$label:"; echo "$demo" | tail -n 20
	rc=1
fi
if ! grep -qE '^[0-9]+ passed, 0 failed' "$log"; then
	echo "engine tests did not all pass$label (exit $rc); full log:"; tail -n 60 "$log"
	rc=1
fi
exit $rc
