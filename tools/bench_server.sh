#!/usr/bin/env bash
# make bench-server: the dedicated-server benchmark. For each scenario, Godot's
# own server (TCPServer + WebSocketPeer.accept_stream) and ours
# (GoWebSocketServer) in turn, each in its own engine process running
# project/bench/server_bench.gd at 60 fps, with the clients in a separate
# process (tools/loadgen, gorilla/websocket). Loopback only; every run stops
# by itself. Prints one BENCH line per run and a table at the end.
#   BENCH_SECONDS   measured seconds per run (default 10)
#   BENCH_ONLY      scenario names to run (default: all), e.g. "s1 idle"
#   BENCH_IMPLS     default "godot ours" (ours reads every peer's inputs with
#                   one get_packets() call a frame); also "ours-signal" (ours
#                   read in the data_received handler: a signal and a
#                   get_packet() per input), "ours-loop" (ours read by asking
#                   every peer each frame, as Godot's own server must), "godot-mp ours-mp" (the
#                   multiplayer peers used directly: WebSocketMultiplayerPeer
#                   and GoWebSocketMultiplayerPeer; clients count the id message)
#   --smoke         20 clients for 1 s, both implementations; fails unless
#                   messages flowed both ways and every client connected
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
godot=${GODOT4:-/opt/godot/godot4}
go=${GO:-go}
secs=${BENCH_SECONDS:-10}
impls=${BENCH_IMPLS:-godot ours}
# name clients state-bytes every-nth-frame inputs-hz
scenarios=(
	"s1 500 1024 1 10"
	"s2 1000 256 3 10"
	"s3 1000 1024 1 10"
	"idle 2000 0 1 0"
)
smoke=0
if [ "${1:-}" = --smoke ]; then
	smoke=1 secs=1 scenarios=("smoke 20 1024 1 10")
fi
if [ ! -x "$godot" ]; then
	echo "SKIPPED: the server benchmark needs a Godot 4.5+ binary at \$GODOT4 (now: $godot)"
	[ "${GOWS_REQUIRE_ALL:-}" = 1 ] && exit 1
	exit 0
fi
# Every client is a socket on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
mkdir -p "$root/build"
"$go" build -o "$root/build/loadgen" "$root/tools/loadgen" || exit 1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
[ $smoke = 1 ] || echo "bench-server: $(nproc) cores, ulimit -n $(ulimit -n), ${secs}s per run, load at start:$(uptime | sed 's/.*load average://')"
rc=0
for sc in "${scenarios[@]}"; do
	read -r name clients size every hz <<<"$sc"
	[ -n "${BENCH_ONLY:-}" ] && ! grep -qw "$name" <<<"$BENCH_ONLY" && continue
	for impl in $impls; do
		line=$(timeout $((secs + 90)) "$godot" --headless --path "$root/project" --script res://bench/server_bench.gd -- \
			--impl="$impl" --name="$name" --clients="$clients" --size="$size" --every="$every" --hz="$hz" \
			--seconds="$secs" --loadgen="$root/build/loadgen" 2>&1 | grep -E '^(BENCH|FAIL|SCRIPT ERROR)')
		echo "$line"
		grep -q '^BENCH' <<<"$line" && echo "$line" >>"$out" || rc=1
	done
done
[ $smoke = 1 ] || echo "load at end:$(uptime | sed 's/.*load average://')"
python3 - "$out" "$smoke" <<'PY' || rc=1
import json, sys
runs = [json.loads(l.split(" ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("BENCH ")]
smoke = sys.argv[2] == "1"
if smoke:
    bad = [r for r in runs if r["connected"] != r["clients"] or r.get("client_received", 0) == 0
           or r["server_in_total"] == 0 or r.get("delivered_out", 0) < 0.99 or r.get("delivered_in", 0) < 0.99]
    for r in runs:
        print("%s smoke %s: %d/%d connected, %d states delivered (%.0f%%), %d inputs read (%.0f%%)" % (
            "FAIL" if r in bad else "PASS", r["impl"], r["connected"], r["clients"], r.get("client_received", 0),
            100 * r.get("delivered_out", 0), r["server_in_total"], 100 * r.get("delivered_in", 0)))
    sys.exit(1 if bad or len(runs) < 2 else 0)
by = {}
for r in runs:
    by.setdefault(r["name"], {})[r["impl"]] = r
print()
print("| scenario | impl | handshakes (s) | frame mean ms | p50 | p99 | max | fps | states delivered | inputs read | process CPU µs/msg (%) | main-thread CPU ms/frame | poll+read p50 ms (inputs/frame) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, d in by.items():
    for impl in ("godot", "ours", "ours-signal", "ours-loop", "godot-mp", "ours-mp"):
        r = d.get(impl)
        if not r:
            continue
        print("| %s %d clients, %s | %s | %d/%d (%s) | %.3f | %.3f | %.3f | %.3f | %.1f | %.2f%% | %.2f%% | %s | %.3f | %s |" % (
            name, r["clients"], ("%d B every %s frame" % (r["size"], "" if r["every"] == 1 else "%d%s" % (r["every"], "rd" if r["every"] == 3 else "th"))).replace("every  frame", "every frame") if r["size"] else "idle",
            impl, r["connected"], r["clients"], r["handshake_s"] if r["handshake_s"] >= 0 else "not all",
            r["mean_ms"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["fps"], 100 * r.get("delivered_out", 0), 100 * r.get("delivered_in", 0),
            ("%.2f (%.0f%%)" % (r["cpu_us_per_msg"], r["cpu_pct"])) if r["size"] else "(%.0f%%)" % r["cpu_pct"],
            r.get("main_cpu_ms_per_frame", -1), "%.3f (%.0f)" % (r.get("recv_p50_ms", -1), r.get("inputs_per_frame", 0))))
    for gi, oi in (("godot", "ours"), ("godot", "ours-signal"), ("godot-mp", "ours-mp")):
        if gi not in d or oi not in d:
            continue
        g, o = d[gi], d[oi]
        f = lambda a, b: "%.3f×" % (a / b) if b else "-"
        print("| %s | %s/%s | | %s | %s | %s | %s | | | | %s | %s | |" % (name, oi, gi, f(o["mean_ms"], g["mean_ms"]), f(o["p50_ms"], g["p50_ms"]),
              f(o["p99_ms"], g["p99_ms"]), f(o["max_ms"], g["max_ms"]),
              f(o["cpu_us_per_msg"], g["cpu_us_per_msg"]) if o["size"] else f(o["cpu_s"], g["cpu_s"]),
              f(o.get("main_cpu_ms_per_frame", 0), g.get("main_cpu_ms_per_frame", 0))))
PY
exit $rc
