#!/usr/bin/env bash
# Multiplayer benchmark (not a timed test): a dedicated SceneMultiplayer
# server at 60 fps with 200 clients in a separate engine process, inputs at
# 10 Hz by RPC, a 256-byte state RPC broadcast at 20 Hz; the server's
# main-thread time per frame in multiplayer.poll() + broadcast, mean and p99,
# Godot's own WebSocketMultiplayerPeer and ours alternating in one run.
#   bash project/bench/mp_bench.sh            (CLIENTS=200 SECONDS_PER_RUN=20 ROUNDS=2)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
godot=${GODOT4:-/opt/godot/godot4}
clients=${CLIENTS:-200}
secs=${SECONDS_PER_RUN:-20}
rounds=${ROUNDS:-2}
# A port free right now, for each run (Godot's server cannot pick one itself).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for r in $(seq "$rounds"); do
	for kind in godot ours; do
		port=$(free_port)
		"$godot" --headless --path "$here" --script res://bench/mp_server.gd -- --kind=$kind --port=$port --clients="$clients" --seconds="$secs" >/tmp/mp_bench_server.$$ 2>&1 &
		server=$!
		sleep 1
		"$godot" --headless --path "$here" --script res://bench/mp_clients.gd -- --port=$port --clients="$clients" --seconds=$((secs + 60)) >/tmp/mp_bench_clients.$$ 2>&1 &
		cl=$!
		wait $server
		kill $cl 2>/dev/null
		wait $cl 2>/dev/null
		grep -h '^RESULT' /tmp/mp_bench_server.$$ || { echo "RESULT $kind failed:"; tail -5 /tmp/mp_bench_server.$$; }
	done
done
rm -f /tmp/mp_bench_server.$$ /tmp/mp_bench_clients.$$
