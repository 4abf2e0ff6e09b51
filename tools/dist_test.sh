#!/usr/bin/env bash
# Usage: dist_test.sh dist/gowebsocket-VERSION.zip
# Checks the release zip: its .sha256 verifies, it holds exactly the addon
# (descriptor, the three libraries, icons named by [icons], LICENSE, README)
# and nothing test-only; then unzips it into a fresh Godot project folder
# (with this repository's tests and demo beside it) and runs the engine tests
# there, so they load the libraries from the zip, not from the build folder.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
zip=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
rc=0
if (cd "$(dirname "$zip")" && sha256sum --quiet -c "$(basename "$zip").sha256"); then
	echo "PASS release zip: $(basename "$zip").sha256 verifies"
else echo "FAIL release zip: checksum"; rc=1; fi
listing=$(python3 -m zipfile -l "$zip" | tail -n +2 | awk '{print $1}' | sort)
want=$( {
	echo addons/gowebsocket/gowebsocket.gdextension
	echo addons/gowebsocket/LICENSE
	echo addons/gowebsocket/README.md
	for section in libraries icons; do # one range per section: a range ends at the next section's header
		sed -n "/^\[$section\]/,/^\[/p" "$root/demo.gdextension" | grep -E '^[^#;[].*=' | sed -E 's/^[^=]*= *"res:\/\/([^"]*)".*/\1/'
	done
} | sort -u)
if [ "$listing" = "$want" ]; then
	echo "PASS release zip: holds exactly addons/gowebsocket/ ($(echo "$listing" | wc -l) files: descriptor, 3 libraries, icons, LICENSE, README)"
else
	echo "FAIL release zip: contents differ from what the descriptor names:"; diff <(echo "$want") <(echo "$listing"); rc=1
fi
if echo "$listing" | grep -qi bcryptprimitives; then echo "FAIL release zip: carries the test-only wine stand-in"; rc=1; fi
proj=$(mktemp -d /tmp/gows-fresh.XXXXXX)
trap 'rm -rf "$proj"' EXIT
python3 -m zipfile -e "$zip" "$proj"
# A fresh project: its own project.godot, our tests and demo; the extension
# list the editor writes when it first opens a project with an extension.
cat >"$proj/project.godot" <<'GODOT'
config_version=5

[application]

config/name="fresh project"
config/features=PackedStringArray("4.5")

[debug]

gdscript/warnings/untyped_declaration=0
GODOT
cp -r "$root/project/tests" "$root/project/demo" "$proj/"
mkdir -p "$proj/.godot"
echo "res://addons/gowebsocket/gowebsocket.gdextension" >"$proj/.godot/extension_list.cfg"
echo "list=[]" >"$proj/.godot/global_script_class_cache.cfg"
echo "engine tests against the release zip in a fresh project ($proj):"
out=$(GOWS_PROJECT=$proj bash "$root/project/tests/run.sh" 2>&1) || rc=1
echo "$out" | grep -E '^(SKIPPED|GOWS_REQUIRE|FAIL|PASS chat|[0-9]+ passed|engine)' | sed 's/^/  /'
[ $rc = 0 ] || echo "$out" | tail -n 40
exit $rc
