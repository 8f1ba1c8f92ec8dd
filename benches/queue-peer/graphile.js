// graphile-worker's side of the queue peer benchmark (see run.sh): enqueues
// N jobs, 100 a call, then drains them with concurrency C, in a fresh schema
// of its own on the same PostgreSQL as Pacer's side. Prints one JSON line.
//
//   node graphile.js URL N C default|batched
//
// `default` is graphile-worker as installed; `batched` is its documented
// high-throughput setup: a local queue of 100 jobs fetched per query and
// completions batched as they come (https://worker.graphile.org/docs/performance).
const { Logger, makeWorkerUtils, run } = require("graphile-worker");

async function main() {
  const [url, n, concurrency, mode] = process.argv.slice(2);
  const N = Number(n);
  const C = Number(concurrency);
  if (!url || !(N > 0) || !(C > 0) || !["default", "batched"].includes(mode)) {
    throw new Error("usage: node graphile.js URL N C default|batched");
  }
  const schema = `graphile_peer_${process.pid}`;
  const quiet = new Logger(() => (level, message) => {
    if (level === "error") console.error(message);
  });
  const utils = await makeWorkerUtils({ connectionString: url, schema, logger: quiet });
  await utils.migrate();

  const enqueueing = process.hrtime.bigint();
  for (let first = 0; first < N; first += 100) {
    const specs = [];
    for (let i = first; i < Math.min(N, first + 100); i++) {
      specs.push({ identifier: "t", payload: { sku: "A", amount: 1, key: String(i) } });
    }
    await utils.addJobs(specs);
  }
  const enqueued = Number(process.hrtime.bigint() - enqueueing) / 1e9;

  let completed = 0;
  let allDone;
  const done = new Promise((resolve) => (allDone = resolve));
  const draining = process.hrtime.bigint();
  const runner = await run({
    connectionString: url,
    schema,
    concurrency: C,
    logger: quiet,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: { t: async () => {} },
    ...(mode === "batched"
      ? { preset: { worker: { localQueue: { size: 100 }, completeJobBatchDelay: 0 } } }
      : {}),
  });
  runner.events.on("job:complete", () => {
    completed += 1;
    if (completed === N) allDone();
  });
  await done;
  // A completion is written after its event; stopping waits for the writes.
  await runner.stop();
  const drain = Number(process.hrtime.bigint() - draining) / 1e9;

  const left = await utils.withPgClient((client) =>
    client.query(`select count(*)::int as n from "${schema}"._private_jobs`),
  );
  await utils.withPgClient((client) => client.query(`drop schema "${schema}" cascade`));
  await utils.release();
  if (left.rows[0].n !== 0) {
    throw new Error(`${left.rows[0].n} of ${N} jobs still in the queue after the drain`);
  }
  console.log(
    JSON.stringify({
      queue: `graphile-worker ${mode}`,
      tasks: N,
      concurrency: C,
      enqueue_per_s: Math.round(N / enqueued),
      drain_per_s: Math.round(N / drain),
      total_per_s: Math.round(N / (enqueued + drain)),
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
