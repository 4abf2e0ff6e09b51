#!/usr/bin/env bash
# The exported-game layout on Linux, as Godot's exporter writes it: the engine
# (an export template) as game.x86_64, the project packed into game.pck beside
# it (made by pack.gd with PCKPacker; the native library is not in the pack),
# and the library file beside the executable. Runs the game from there
# headless: its main scene (the chat demo: a server and two clients exchange
# messages) and the whole engine suite from the pack; then checks that without
# the library beside it the classes do not load (so the test can fail).
# Also checks that demo.gdextension's [libraries] keys are picked by both the
# debug and the release export templates.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
godot=${GODOT4:-/opt/godot/godot4}
lib=$root/project/addons/gowebsocket/bin/libgowebsocket.linux.x86_64.so
rc=0

# Feature tags: an export template has either template_debug + debug or
# template_release + release. A key naming one of those (or editor) would
# leave the other build without a library, so each platform needs a key made
# only of its OS and architecture tags.
keys=$(sed -n '/^\[libraries\]/,/^\[/p' "$root/demo.gdextension" | grep -E '^[a-z0-9_.]+ *=' | cut -d= -f1 | tr -d ' ')
matches() { # key os arch
	local first=1 t
	for t in $(echo "$1" | tr . ' '); do
		case $t in editor | debug | release | template_debug | template_release) return 1 ;; esac
		if [ $first = 1 ]; then [ "$t" = "$2" ] || return 1; first=0
		else [ "$t" = "$3" ] || [ "$t" = universal ] || return 1; fi
	done
	[ $first = 0 ]
}
for platform in linux:x86_64 windows:x86_64 macos:x86_64 macos:arm64; do
	ok=""
	for k in $keys; do matches "$k" "${platform%%:*}" "${platform##*:}" && ok=$k; done
	if [ -n "$ok" ]; then echo "PASS descriptor: key $ok serves ${platform/:/ } in both debug and release export templates"
	else echo "FAIL descriptor: no [libraries] key serves ${platform/:/ } in both debug and release export templates"; rc=1; fi
done

if [ ! -x "$godot" ]; then
	echo "SKIPPED: exported-game test needs a Godot 4.5+ binary at \$GODOT4 (now: $godot) (install with: ${ENGINE_INSTALL:-/work/shared/engine/install})"
	[ "${GOWS_REQUIRE_ALL:-}" = 1 ] && { echo "GOWS_REQUIRE_ALL=1: the exported-game test must run"; exit 1; }
	exit $rc
fi
[ -f "$lib" ] || { echo "FAIL exported game: $lib is not built (run make)"; exit 1; }
game=$(mktemp -d /tmp/gows-export.XXXXXX)
trap 'rm -rf "$game"' EXIT
cp "$godot" "$game/game.x86_64"
if ! out=$(timeout 120 "$godot" --headless --path "$root/project" --script res://tests/pack.gd -- "$game/game.pck" 2>&1); then
	echo "FAIL exported game: packing failed:"; echo "$out" | tail -n 20; exit 1
fi
# The pack holds the project (a few hundred KiB), not the library (MiBs).
size=$(stat -c %s "$game/game.pck")
if [ "$size" -gt 1048576 ]; then echo "FAIL exported game: game.pck is $size bytes: the native library went into the pack"; rc=1; fi
cp "$lib" "$game/"
ls "$game" | paste -sd' ' | sed 's/^/exported layout: /'

# The main scene (chat demo), run as a player would: from the game folder.
demo=$(cd "$game" && timeout 120 ./game.x86_64 --headless --quit-after 1000 2>&1)
if echo "$demo" | grep -q '^you: hello!' && echo "$demo" | grep -q '^bot: hello!' && ! echo "$demo" | grep -qE 'SCRIPT ERROR|Can.t open dynamic library|GDExtension'; then
	echo "PASS exported game: main scene ran from game.pck, library beside the binary, server relayed both greetings"
else
	echo "FAIL exported game: main scene:"; echo "$demo" | tail -n 20; rc=1
fi
# The whole engine suite, from the pack.
suite=$(cd "$game" && GOWS_DOC_CLASSES="$root/doc_classes" GOWS_TEST_PANIC=1 timeout 600 ./game.x86_64 --headless --script res://tests/test_runner.gd 2>&1)
if echo "$suite" | grep -qE '^[0-9]+ passed, 0 failed'; then
	echo "PASS exported game: engine suite from game.pck: $(echo "$suite" | grep -E '^[0-9]+ passed, 0 failed')"
else
	echo "FAIL exported game: engine suite:"; echo "$suite" | grep -E '^FAIL|passed|SCRIPT ERROR' | head -n 30; rc=1
fi
# Without the library beside it, the same game must not find the classes.
rm "$game/libgowebsocket.linux.x86_64.so"
none=$(cd "$game" && timeout 120 ./game.x86_64 --headless --script res://tests/test_runner.gd 2>&1)
if echo "$none" | grep -q 'FAIL extension not loaded'; then
	echo "PASS exported game: without the library beside the binary the classes are absent (the check can fail)"
else
	echo "FAIL exported game: ran without the library beside it?"; echo "$none" | tail -n 10; rc=1
fi
exit $rc
