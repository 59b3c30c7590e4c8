#!/usr/bin/env node
/**
 * `traindb export` at scale: time and peak RSS of one export per format of every run.
 *
 *   npm run build && node bench/export.js [--runs 100000] [--seed 7] [--columns LIST] [--dir .tmp/bench-export]
 *
 * Generates a project with the project's generator and ingests it as bench/run.js does (ingestNodes,
 * parallel normalization, bulk load) into <dir>/runs-<n>.sqlite, reused when present. Each export runs
 * once, as the user runs it (`node bin/traindb.js export --out FILE`), under /usr/bin/time for its wall
 * time and peak RSS; the output's row count is checked against the run count.
 */
import { parseArgs } from 'node:util';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '7' },
    columns: { type: 'string' },
    formats: { type: 'string', default: 'csv,jsonl,parquet' },
    dir: { type: 'string', default: '.tmp/bench-export' },
  },
});
const RUNS = Number(opts.runs);
const dir = resolve(ROOT, opts.dir);
mkdirSync(dir, { recursive: true });
const db = join(dir, `runs-${RUNS}-seed${opts.seed}.sqlite`);

if (!existsSync(db)) {
  const { iterateRuns } = await import('../dist/dev/generate/index.js');
  const { openStore } = await import('../dist/db/open-store.js');
  const { ingestNodes } = await import('../dist/jobs/ingest.js');
  const t0 = performance.now();
  const { store } = await openStore(db);
  const summary = await ingestNodes(store, iterateRuns({ runs: RUNS, seed: Number(opts.seed) }), {
    parallel: true,
    bulk: true,
  });
  await store.close();
  console.log(
    `built ${db}: ${summary.inserted} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s (${summary.failed.length} failed)`,
  );
}

const results = [];
for (const format of opts.formats.split(',')) {
  const out = join(dir, `export.${format}`);
  rmSync(out, { force: true });
  const args = ['export', '--db', db, '--format', format, '--out', out];
  if (opts.columns) args.push('--columns', opts.columns);
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, join(ROOT, 'bin/traindb.js'), ...args], {
    encoding: 'utf8',
  });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`export ${format} failed (${r.status}): ${r.stderr}`);
  const rows = await countRows(format, out);
  if (rows !== RUNS) throw new Error(`export ${format} wrote ${rows} rows for ${RUNS} runs`);
  results.push({
    format,
    seconds: Number(m[1]),
    peakRssMB: Math.round(Number(m[2]) / 1024),
    fileMB: statSync(out).size / 2 ** 20,
    rows,
  });
}
console.log(
  `traindb export of ${RUNS} runs (columns: ${opts.columns ?? 'default'}), one run each, on ${process.platform}:`,
);
console.log('format   seconds  peak RSS MB  file MB   rows');
for (const r of results)
  console.log(
    `${r.format.padEnd(8)} ${r.seconds.toFixed(1).padStart(7)}  ${String(r.peakRssMB).padStart(11)}  ${r.fileMB.toFixed(1).padStart(7)}  ${r.rows}`,
  );

async function countRows(format, file) {
  if (format === 'parquet') {
    const { parquetMetadata } = await import('hyparquet');
    const bytes = readFileSync(file);
    return Number(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).num_rows);
  }
  // CSV cells may hold newlines inside quotes: count records by quote parity at each line end.
  let records = 0;
  let quoted = false;
  for await (const chunk of createReadStream(file)) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 34) quoted = !quoted;
      else if (c === 10 && !quoted) records++;
    }
  }
  return format === 'csv' ? records - 1 : records;
}
