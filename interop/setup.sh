#!/usr/bin/env bash
# Installs the independent WebSocket peers the interop tests drive, quietly
# and only what is missing (safe to run again):
#   Debian packages  godot3-server (Godot 3.2 headless), python3-websockets,
#                    chromium, nodejs + npm (skipped if a node and npm exist)
#   npm              ws, pinned by interop/node/package-lock.json, into
#                    interop/node/node_modules (gitignored)
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
	sudo="sudo"
fi

pkgs=(godot3-server python3-websockets chromium)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	pkgs+=(nodejs npm)
fi
missing=()
for pkg in "${pkgs[@]}"; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "interop/setup.sh: installing ${missing[*]}"
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ws at the locked version, unless it is already there.
cd node
want=$(node -p "require('./package-lock.json').packages['node_modules/ws'].version")
have=$(node -p "try { require('./node_modules/ws/package.json').version } catch (e) { '' }")
if [ "$want" != "$have" ]; then
	echo "interop/setup.sh: npm ci (ws $want)"
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
