#!/usr/bin/env bash
# Usage: dist.sh VERSION OUT.zip
# Zips addons/gowebsocket/ for release (the Asset Library layout): the
# descriptor, the three libraries it names, the icons its [icons] section
# names, LICENSE and a short README; writes OUT.zip.sha256 beside it.
# Nothing else from the build folder goes in (never the test-only wine stand-in).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$1 out=$2
desc=demo.gdextension
files=()
# res://addons/gowebsocket/... paths named in [libraries] and [icons].
for section in libraries icons; do
	while read -r p; do
		[ -n "$p" ] || continue
		src=project/${p#res://}
		[ -f "$src" ] || { echo "dist.sh: $desc names $p but $src is missing (make all windows macos)" >&2; exit 1; }
		files+=("$src")
	done < <(sed -n "/^\[$section\]/,/^\[/p" "$desc" | grep -E '^[^#;[].*=' | sed -E 's/^[^=]*= *"([^"]*)".*/\1/')
done
mkdir -p "$(dirname "$out")"
rm -f "$out" "$out.sha256"
python3 - "$out" "$version" "${files[@]}" <<'PY'
import sys, zipfile
out, version, files = sys.argv[1], sys.argv[2], sys.argv[3:]
def add(z, arc, data, mode=0o644):
    info = zipfile.ZipInfo(arc, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)
with zipfile.ZipFile(out, "w") as z:
    add(z, "addons/gowebsocket/gowebsocket.gdextension", open("demo.gdextension", "rb").read())
    for f in files:
        add(z, f[len("project/"):], open(f, "rb").read(), 0o755 if "/bin/" in f else 0o644)
    add(z, "addons/gowebsocket/LICENSE", open("LICENSE", "rb").read())
    readme = open("tools/dist/README.md").read().replace("# GoWebSocket for Godot", "# GoWebSocket for Godot " + version, 1)
    add(z, "addons/gowebsocket/README.md", readme.encode())
PY
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" >"$(basename "$out").sha256")
echo "dist.sh: $out ($(stat -c %s "$out") bytes), $(basename "$out").sha256"
python3 -m zipfile -l "$out" | tail -n +2 | awk '{print "  " $1}'
