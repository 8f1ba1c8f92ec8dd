#!/usr/bin/env bash
# The queue side by side with a peer: Pacer's store and graphile-worker
# (Node, PostgreSQL) each enqueue N jobs, 100 a call, and drain them with
# the same concurrency, on the same PostgreSQL, one after the other in one
# run. graphile-worker is installed from npm into a scratch folder (pinned
# below), and runs twice: as installed, and in its documented
# high-throughput setup (a local queue of 100 jobs, completions batched).
# synchronous_commit stays as the server has it (on by default): both sides
# wait for each commit to be durable.
#
#   cargo build --release -p pacer-store --example drain
#   benches/queue-peer/run.sh [URL] [N] [CONCURRENCY...]
#
# Defaults: $PACER_TEST_POSTGRES or the local server's `test` database,
# 20000 jobs, concurrency 1, 4 and 10. Each side works in a fresh schema of
# its own and drops it at the end. Prints one JSON line per run, and after
# it the server's commits and WAL syncs (durable flushes) during that run,
# from pg_stat_database and pg_stat_wal: what both sides are bound by. Run
# it on an otherwise idle server, or those counts include other work.
set -euo pipefail
cd "$(dirname "$0")/../.."
url=${1:-${PACER_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}}
n=${2:-20000}
shift $(( $# > 2 ? 2 : $# ))
concurrency=${*:-1 4 10}
graphile_worker=graphile-worker@0.17.3   # the newest that runs on Node 20
drain=target/release/examples/drain
[ -x "$drain" ] || { echo "build it first: cargo build --release -p pacer-store --example drain" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp benches/queue-peer/graphile.js "$scratch/"
(cd "$scratch" && npm init -y > /dev/null && npm install --no-audit --no-fund "$graphile_worker" > npm.log 2>&1) \
  || { cat "$scratch/npm.log" >&2; exit 1; }
echo "# synchronous_commit: $(psql "$url" -Atc 'show synchronous_commit')"
# Commits in this database and WAL syncs on the server, so far. A backend's
# counts reach these views when it exits, so each run's are read after it.
counts() {
  psql "$url" -Atc "SELECT xact_commit, (SELECT wal_sync FROM pg_stat_wal)
                    FROM pg_stat_database WHERE datname = current_database()"
}
measured() {
  local before after
  before=$(counts)
  "$@"
  sleep 1
  after=$(counts)
  echo "# commits: $(( ${after%|*} - ${before%|*} )); WAL syncs: $(( ${after#*|} - ${before#*|} ))"
}
for c in $concurrency; do
  measured "$drain" "$url" "$n" "$c"
  measured node "$scratch/graphile.js" "$url" "$n" "$c" default
  measured node "$scratch/graphile.js" "$url" "$n" "$c" batched
done
