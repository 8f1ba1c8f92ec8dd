#!/usr/bin/env bash
# One node, many jobs: `pacer run` of a generated environment (N
# integrations, 2N jobs, capacity 400) against `pacer mock --config` of the
# same file, at real speed, for SECONDS. Reports scheduler lag (from an
# execution's due instant to its start), executions started per second,
# missed executions, CPU and peak memory, and how long the dashboard's and
# the API's job and execution lists take with that many jobs.
#
#   cargo build --release -p pacer
#   benches/node/run.sh [PACER] [N] [SECONDS] [STORE]
#
# Defaults: target/release/pacer 1000 180, and a SQLite file. STORE may be
# an empty PostgreSQL database, postgres://…/DB (its tables are made on
# the first run; give a fresh database each time).
set -euo pipefail
cd "$(dirname "$0")/../.."
pacer=$(realpath "${1:-target/release/pacer}")
n=${2:-1000}
seconds=${3:-180}
store=${4:-sqlite://node-scale.db}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
python3 benches/node/generate.py "$n" | sed "s|sqlite://node-scale.db|${store//&/\\&}|" > "$dir/node-scale.yaml"
cd "$dir"
"$pacer" mock --config node-scale.yaml > mock.log 2>&1 &
sleep 2
# Start on a minute's edge, so the first minute is a whole one.
sleep $((60 - $(date +%-S)))
/usr/bin/time -f "cpu_user_s=%U cpu_system_s=%S max_rss_kb=%M wall_s=%e" -o time.txt \
  "$pacer" run node-scale.yaml --for "${seconds}s" --listen 127.0.0.1:18080 > run.log 2> run.err &
run=$!
sleep $((seconds / 3))
calls() { curl -s http://127.0.0.1:18080/metrics | awk '$1 == "pacer_store_calls_total" {print $2}'; }
before=$(calls)
sleep 60
echo "store calls per minute: $(( $(calls) - before ))"
sleep $((seconds / 3 - 60 > 0 ? seconds / 3 - 60 : 0))
for path in /jobs /api/v1/jobs /executions /api/v1/executions /; do
  curl -s -o /dev/null -w "GET $path: %{http_code} in %{time_total} s, %{size_download} bytes\n" \
    "http://127.0.0.1:18080$path"
done
# A node that fell behind is still starting what was due: give it a
# minute past its end, then Ctrl-C it (running executions finish first).
for _ in $(seq 1 $((seconds / 3 + 60))); do
  kill -0 $run 2>/dev/null || break
  sleep 1
done
if kill -0 $run 2>/dev/null; then
  echo "still running 60 s after its --for ended: interrupted"
  pkill -INT -P $run || true
fi
wait $run || echo "pacer run exited $? (run.err: $(tail -n 3 run.err))"
# The ledger's executions not skipped: (due, started, state), in ms.
if [[ $store == postgres* ]]; then
  psql -At -F ' ' "$store" -c \
    "SELECT due_at, COALESCE(started_at, -1), state FROM executions WHERE state <> 'skipped'"
else
  python3 -c "
import sqlite3
for row in sqlite3.connect('node-scale.db').execute(
        \"SELECT due_at, COALESCE(started_at, -1), state FROM executions WHERE state != 'skipped'\"):
    print(*row)"
fi > ledger.txt
python3 - <<'PY'
rows = [line.split() for line in open("ledger.txt") if line.strip()]
rows = [(int(d), int(s), state) for d, s, state in rows]
started = sorted(s - d for d, s, _ in rows if s >= 0)
missed = sum(1 for _, _, state in rows if state == "missed")
def pct(p):
    return started[min(len(started) - 1, int(len(started) * p))] / 1000 if started else float("nan")
per_second = {}
for _, s, _ in rows:
    if s >= 0:
        per_second[s // 1000] = per_second.get(s // 1000, 0) + 1
print(f"executions started: {len(started)}, missed: {missed}")
print(f"lag from due to start: p50 {pct(0.5):.3f} s, p99 {pct(0.99):.3f} s, max {pct(1.0):.3f} s")
if per_second:
    print(f"started per second: at most {max(per_second.values())}")
PY
cat time.txt
tail -n 1 run.err
