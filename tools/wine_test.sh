#!/usr/bin/env bash
# Windows for real, under wine (`make wine-test`), in a throwaway WINEPREFIX
# that holds the test-only ProcessPrng stand-in (tools/testonly/):
#   1. the DLL loads: a mingw-built loader LoadLibrary's it, calls the entry
#      with a get_proc_address that returns NULL for all, expects a refusal;
#   2. peer/'s Go tests, built as a Windows test binary, run under wine
#      with -test.short (the soak sends 20,000 messages, not 100,000), minus
#      $WINE_PEER_SKIP (a -test.skip pattern: tests left out, causes in the Makefile).
#   3. the GDScript engine suite inside the Windows engine ($GODOT4_WINDOWS)
#      against the DLL, when that engine is installed;
#   4. a smoke of the benchmark there (one size, 100 round trips: ~15 s).
# With "bench" (`make bench-windows`): only the in-engine benchmark
# (project/bench/bench.gd) in the Windows engine, in the same kind of prefix.
set -u
mode=${1:-test}
cd "$(dirname "$0")/.."
GO=${GO:-go}
dll=$PWD/project/addons/gowebsocket/bin/gowebsocket.windows.x86_64.dll
godot_win=${GODOT4_WINDOWS:-/opt/godot/godot4.exe}
tmp=$(mktemp -d /tmp/gows-wine.XXXXXX)
export WINEPREFIX=$tmp/prefix WINEDEBUG=-all
trap 'wineserver -k 2>/dev/null; rm -rf "$tmp"' EXIT
rc=0
bash tools/testonly/wineprefix.sh "$WINEPREFIX" || { echo "FAIL wine: could not make the wine prefix"; exit 1; }

if [ "$mode" = bench ]; then
	[ -f "$godot_win" ] || { echo "FAIL: no Windows engine at $godot_win (install with: ${ENGINE_INSTALL:-/work/shared/engine/install})"; exit 1; }
	GODOT4=$godot_win GODOT4_RUNNER=wine bash project/tests/run.sh bench
	exit $?
elif [ "$mode" != test ]; then
	echo "usage: tools/wine_test.sh [bench]" >&2; exit 2
fi

# 1. The DLL loads and refuses an engine without interface.
if GOWS_DLL=$dll "$GO" test -count=1 -run 'TestWindowsDLL' -v ./extension/ >"$tmp/loader.log" 2>&1; then
	echo "PASS Windows DLL under wine: $(grep -o 'entry returned.*' "$tmp/loader.log" | head -n1)"
else
	echo "FAIL Windows DLL under wine:"; tail -n 30 "$tmp/loader.log"; rc=1
fi

# 2. peer/'s tests as a Windows test binary.
if GOOS=windows GOARCH=amd64 "$GO" test -c -o "$tmp/peer.test.exe" ./peer/ >"$tmp/build.log" 2>&1; then
	skip=()
	[ -n "${WINE_PEER_SKIP:-}" ] && skip=(-test.skip "$WINE_PEER_SKIP")
	start=$(date +%s)
	if (cd peer && timeout 1200 wine "$tmp/peer.test.exe" -test.count=1 -test.v -test.short -test.timeout=1100s "${skip[@]}" >"$tmp/peer.log" 2>&1); then
		echo "PASS peer/ tests under wine: $(grep -c '^--- PASS' "$tmp/peer.log") tests passed, $(grep -c -- '--- SKIP' "$tmp/peer.log") skipped in $(( $(date +%s) - start )) s${WINE_PEER_SKIP:+ (left out for wine: $WINE_PEER_SKIP)}"
	else
		echo "FAIL peer/ tests under wine:"; grep -E -A4 -- '--- FAIL|^panic' "$tmp/peer.log" | head -n 60; tail -n 20 "$tmp/peer.log"; rc=1
	fi
else
	echo "FAIL peer/ tests under wine: GOOS=windows go test -c ./peer/ failed:"; tail -n 20 "$tmp/build.log"; rc=1
fi

# 3. The engine suite in the Windows engine.
if [ -f "$godot_win" ]; then
	GODOT4=$godot_win GODOT4_RUNNER=wine bash project/tests/run.sh || rc=1
else
	echo "SKIPPED: engine tests in the Windows engine under wine: no $godot_win (install with: ${ENGINE_INSTALL:-/work/shared/engine/install})"
	[ "${GOWS_REQUIRE_ALL:-}" = 1 ] && { echo "GOWS_REQUIRE_ALL=1: the Windows engine tests must run"; rc=1; }
fi

# 4. The benchmark (make bench-windows), briefly: it runs, both pairs move data.
if [ -f "$godot_win" ]; then
	out=$(GOWS_BENCH_SIZES=64 GOWS_BENCH_ROUNDS=1 GOWS_BENCH_ROUND_TRIPS=100 GODOT4=$godot_win GODOT4_RUNNER=wine bash project/tests/run.sh bench 2>&1)
	if echo "$out" | grep -q '^round trip' && ! echo "$out" | grep -q 'FAIL'; then
		echo "PASS benchmark smoke under wine: $(echo "$out" | grep '^round trip')"
	else
		echo "FAIL benchmark smoke under wine:"; echo "$out" | tail -n 20; rc=1
	fi
fi
exit $rc
