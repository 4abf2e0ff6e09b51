#!/usr/bin/env bash
# Installs the independent WebSocket peers the interop tests drive: Godot 3.2
# (headless), Python's websockets, Chromium, and Node's ws (pinned in
# package-lock.json, installed into interop/node_modules).
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in godot3-server python3-websockets chromium nodejs npm; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# A Node.js installed outside Debian (with its own npm) is fine too.
if command -v node >/dev/null && command -v npm >/dev/null; then
	need=("${need[@]/nodejs}"); need=("${need[@]/npm}")
fi
pkgs=$(printf '%s ' "${need[@]}" | xargs)
if [ -n "$pkgs" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq $pkgs >/dev/null
fi
npm ci --no-audit --no-fund --loglevel=error
