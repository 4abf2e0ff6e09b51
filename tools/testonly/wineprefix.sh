#!/usr/bin/env bash
# TEST-ONLY. Usage: wineprefix.sh DIR
# Makes a throwaway wine prefix in DIR (created, must not exist yet) for
# `make test`, with the ProcessPrng stand-in (bcryptprimitives.c beside this
# script) in its system32. Never used for, or copied into, anything shipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
export WINEPREFIX=$dir WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$dir"
wine=$(command -v wine || command -v wine64)
timeout 300 "$wine" wineboot -i >/dev/null 2>&1
timeout 60 wineserver -w || true
sys32=$dir/drive_c/windows/system32
[ -d "$sys32" ] || { echo "wineprefix.sh: wineboot made no $sys32" >&2; exit 1; }
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$sys32/bcryptprimitives.dll" "$here/bcryptprimitives.c"
