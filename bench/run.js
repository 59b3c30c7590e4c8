#!/usr/bin/env node
/**
 * traindb benchmark harness (issue 5, part 1: the table).
 *
 *   npm run build && npm run bench -- --runs 100000 [--seed 7] [--out bench/results.json] [--repeat 50] [--skip-duckdb]
 *
 * Generates a project with the project's generator, ingests it through the real normalization + upsert
 * path into a fresh SQLite file under .tmp/bench/, then answers one query set three ways (traindb's
 * library, the seed-v1 json_extract way, DuckDB over a JSON-lines export of the same runs) and times
 * one incremental poll cycle. Prints one table and writes everything to bench/results.json.
 * See bench/README.md for what every number means.
 *
 * Plain JavaScript on purpose: it imports the COMPILED library from ../dist, exactly as a user would.
 */
import { parseArgs } from 'node:util';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  readFileSync,
} from 'node:fs';
import { cpus, totalmem, platform, release, arch, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const DIST = join(ROOT, 'dist');

// ---------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string', default: 'bench/results.json' },
    repeat: { type: 'string', default: '50' },
    'v1-repeat': { type: 'string' },
    warmup: { type: 'string', default: '3' },
    budget: { type: 'string', default: '120' }, // seconds of timed calls per query and way, at most
    batch: { type: 'string', default: '250' }, // ingestNodes' own default
    ingest: { type: 'string', default: 'auto' }, // auto | manual | ingestNodes | ingestStream
    serial: { type: 'boolean', default: false }, // do not ask the library for parallel normalization
    'keep-indexes': { type: 'boolean', default: false }, // do not ask for a bulk load (indexes set aside, rebuilt at the end)
    'poll-cycles': { type: 'string', default: '5' },
    'poll-runs': { type: 'string', default: '50' },
    'skip-duckdb': { type: 'boolean', default: false },
    'skip-v1': { type: 'boolean', default: false },
    'skip-queries': { type: 'boolean', default: false },
    dir: { type: 'string', default: '.tmp/bench' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});

if (opts.help) {
  console.log(readFileSync(join(HERE, 'README.md'), 'utf8'));
  process.exit(0);
}

const RUNS = int('runs', 1);
const SEED = int('seed', 0);
const REPEAT = int('repeat', 1);
const V1_REPEAT = opts['v1-repeat'] === undefined ? REPEAT : int('v1-repeat', 1);
const WARMUP = int('warmup', 0);
const BUDGET_MS = int('budget', 1) * 1000;
const BATCH = int('batch', 1);
const POLL_CYCLES = int('poll-cycles', 1);
const POLL_RUNS = int('poll-runs', 1);
const OUT = resolve(ROOT, opts.out);
const WORK = resolve(ROOT, opts.dir);

function int(name, min) {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be a whole number >= ${min}, got ${opts[name]}`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------
// The library under test (compiled)
// ---------------------------------------------------------------------------------------------------

if (!existsSync(join(DIST, 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(2);
}
const staleDist = findStaleDist();
const { iterateRuns } = await import('../dist/dev/generate/index.js');
const { formatWandbTime, parseWandbTime } = await import('../dist/dev/wandb-time.js');
const { normalizeRun } = await import('../dist/core/normalize/run.js');
const { openStore } = await import('../dist/db/open-store.js');
const { findRuns, explainRuns, compileRunQuery } = await import('../dist/query/find-runs.js');
const { compareGroups } = await import('../dist/query/compare.js');
const ingestModule = await import('../dist/jobs/ingest.js');
const planSyncModule = await importOptional('../dist/jobs/plan-sync.js');

async function importOptional(spec) {
  try {
    return await import(spec);
  } catch {
    return null;
  }
}

/** src files newer than their compiled counterpart: the numbers would not describe the current source. */
function findStaleDist() {
  const stale = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) {
        const js = join(DIST, relative(join(ROOT, 'src'), p)).replace(/\.ts$/, '.js');
        if (!existsSync(js) || statSync(js).mtimeMs < statSync(p).mtimeMs) stale.push(relative(ROOT, p));
      }
    }
  };
  try {
    walk(join(ROOT, 'src'));
  } catch {
    /* no src: installed package */
  }
  return stale;
}

// ---------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------

const now = () => performance.now();
const MB = 1024 * 1024;
const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  // Nearest rank: p95 of 50 samples is the 48th smallest.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
function median(sorted) {
  if (sorted.length === 0) return null;
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}
function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: median(s), p95: percentile(s, 95), min: s[0] ?? null, max: s[s.length - 1] ?? null };
}
function fileSize(p) {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}
function removeDb(p) {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(p + suffix, { force: true });
}
function fmtMs(ms) {
  if (ms === null || ms === undefined) return '-';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}
function fmtRatio(r) {
  if (r === null || r === undefined || !Number.isFinite(r)) return '-';
  const x = 1 / r;
  const inv = x >= 10 ? `${x.toFixed(0)}x` : `${x.toFixed(1)}x`;
  return `${r < 0.01 ? r.toPrecision(2) : r.toFixed(2)} (${r <= 1 ? `${inv} faster` : `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}x slower`})`;
}
const mark = (ok) => (ok === null || ok === undefined ? 'n/a' : ok ? 'PASS' : 'FAIL');

const rssSamples = { peak: 0, samples: 0 };
function sampleRss() {
  const rss = process.memoryUsage.rss();
  rssSamples.samples++;
  if (rss > rssSamples.peak) rssSamples.peak = rss;
  return rss;
}
const rssTimer = setInterval(sampleRss, 100);
rssTimer.unref();

// ---------------------------------------------------------------------------------------------------
// Independent flattening of a W&B run node for the DuckDB export (does NOT use traindb's normalizer,
// so the row-count cross-check compares two implementations).
// ---------------------------------------------------------------------------------------------------

/** The config paths and summary keys the query set needs, exported as flat columns. */
const EXPORT_CONFIG_PATHS = [
  'gradient_method',
  'training.gradient_accumulation_steps',
  'experiment_name',
  'training.optimizer.name',
];
const EXPORT_SUMMARY_KEYS = ['train/kl', 'train/loss'];
const OBJECTIVE_KEY = /^objectives\/(.+?)(?:_(?:maximize|minimize))?\/raw_mean$/;
const STATUS_OF_STATE = { finished: 'completed', preempting: 'running' };

function parseMaybe(text) {
  if (text === null || text === undefined || text === '') return {};
  return typeof text === 'string' ? JSON.parse(text) : text;
}
/** W&B wraps each top-level config value as {value} or {desc, value}; `training.x` may be flattened. */
function configGetter(rawConfig) {
  const top = new Map();
  for (const [k, v] of Object.entries(rawConfig)) {
    if (k === '_wandb' || k === 'wandb_version') continue;
    top.set(k, v && typeof v === 'object' && !Array.isArray(v) && 'value' in v ? v.value : v);
  }
  return (path) => {
    const parts = path.split('.');
    for (let i = parts.length; i >= 1; i--) {
      const head = parts.slice(0, i).join('.');
      if (!top.has(head)) continue;
      let node = top.get(head);
      for (const p of parts.slice(i)) node = node && typeof node === 'object' ? node[p] : undefined;
      if (node !== undefined) return node;
    }
    return undefined;
  };
}
/**
 * Numbers as numbers. W&B sends non-finite values as the strings "NaN", "Infinity", "-Infinity":
 * ±Infinity are exported as the bare literals DuckDB's JSON reader accepts (they compare as numbers,
 * as in traindb's index); NaN and other strings become null (no comparison matches them, as in traindb).
 */
const INF = '\u0001+Infinity\u0001';
const NEG_INF = '\u0001-Infinity\u0001';
function numOrNull(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? v : v > 0 ? INF : v < 0 ? NEG_INF : null;
  if (v === 'Infinity') return INF;
  if (v === '-Infinity') return NEG_INF;
  return null;
}
const scalarOrNull = (v) => (v === undefined || (v !== null && typeof v === 'object') ? null : v);

function flattenForExport(node) {
  const get = configGetter(parseMaybe(node.config));
  const summary = parseMaybe(node.summaryMetrics);
  const launchId = get('run_id');
  const row = {
    run_id:
      typeof launchId === 'string' && launchId.trim() !== ''
        ? launchId
        : `${node.project.entityName}/${node.project.name}/${node.name}`,
    wandb_run_id: node.name,
    status: STATUS_OF_STATE[node.state] ?? node.state,
    created_at: node.createdAt,
  };
  for (const p of EXPORT_CONFIG_PATHS) row[`config.${p}`] = scalarOrNull(get(p));
  for (const k of EXPORT_SUMMARY_KEYS) row[`summary.${k}`] = numOrNull(summary[k]);
  for (const [k, v] of Object.entries(summary)) {
    const m = OBJECTIVE_KEY.exec(k);
    if (m) row[`objective.${m[1]}`] = numOrNull(v);
  }
  return row;
}

/** Buffered JSON-lines writer: constant memory whatever the run count. */
class LineWriter {
  constructor(path) {
    this.fd = openSync(path, 'w');
    this.buf = [];
    this.size = 0;
    this.lines = 0;
  }
  add(obj) {
    let line = JSON.stringify(obj);
    if (line.includes('\\u0001'))
      line = line
        .replaceAll(`"${JSON.stringify(INF).slice(1, -1)}"`, 'Infinity')
        .replaceAll(`"${JSON.stringify(NEG_INF).slice(1, -1)}"`, '-Infinity');
    this.buf.push(line);
    this.size += line.length;
    this.lines++;
    if (this.size > 4 * MB) this.flush();
  }
  flush() {
    if (this.buf.length) writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }
  close() {
    this.flush();
    closeSync(this.fd);
  }
}

// ---------------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------------

mkdirSync(WORK, { recursive: true });
const dbPath = join(WORK, `traindb-${RUNS}-s${SEED}.sqlite`);
const v1Path = join(WORK, `v1-${RUNS}-s${SEED}.sqlite`);
const jsonlPath = join(WORK, `runs-${RUNS}-s${SEED}.jsonl`);
removeDb(dbPath);
removeDb(v1Path);
rmSync(jsonlPath, { force: true });

const results = {
  date: new Date().toISOString(),
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  options: {
    runs: RUNS,
    seed: SEED,
    budgetSeconds: BUDGET_MS / 1000,
    repeat: REPEAT,
    v1Repeat: V1_REPEAT,
    warmup: WARMUP,
    batch: BATCH,
    pollCycles: POLL_CYCLES,
    pollRuns: POLL_RUNS,
  },
  machine: machineInfo(),
  warnings: [],
};
if (staleDist.length) {
  const w = `dist/ is older than ${staleDist.length} src file(s) (${staleDist.slice(0, 3).join(', ')}${staleDist.length > 3 ? ', ...' : ''}): run \`npm run build\``;
  results.warnings.push(w);
  log('WARNING', w);
}

function machineInfo() {
  const c = cpus();
  let commit = null;
  let dirty = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  } catch {
    /* not a git checkout */
  }
  const mem = new Database(':memory:');
  const sqlite = mem.prepare('SELECT sqlite_version() AS v').get().v;
  mem.close();
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? null,
    memoryGB: +(totalmem() / 1024 ** 3).toFixed(1),
    platform: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    sqlite,
    betterSqlite3: pkg('better-sqlite3'),
    duckdbNodeApi: pkg('@duckdb/node-api'),
    duckdb: null,
    loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
    gitCommit: commit,
    srcDirty: dirty,
  };
}

// ---------------------------------------------------------------------------------------------------
// 1+2. Generate and ingest (streamed), writing the JSON-lines export on the way
// ---------------------------------------------------------------------------------------------------

log(`generating and ingesting ${RUNS} runs (seed ${SEED}) into ${relative(ROOT, dbPath)}`);
const { store } = await openStore(dbPath, { create: true });
const exporter = opts['skip-duckdb'] ? null : new LineWriter(jsonlPath);
const timing = { generateMs: 0, normalizeMs: null, upsertMs: null };
const tally = { inserted: 0, updated: 0, unchanged: 0, stale: 0, failed: 0, transitions: 0, warnings: 0 };
let produced = 0;
const segments = [];
const segmentSize = Math.max(1000, Math.ceil(RUNS / 10 / 1000) * 1000);

/**
 * The generator, timed: what happens between yields is traindb's work. The DuckDB export is written in a
 * second pass after the ingest, so its garbage does not count in the ingest's peak RSS (it added ~14 MB).
 */
function* source() {
  const it = iterateRuns({ runs: RUNS, seed: SEED });
  for (;;) {
    const t0 = now();
    const r = it.next();
    const t1 = now();
    timing.generateMs += t1 - t0;
    if (r.done) return;
    if (++produced % 1000 === 0) {
      sampleRss();
      if (produced % 10000 === 0) log(`  ${produced} runs`);
    }
    yield r.value;
  }
}

function chooseIngest() {
  const want = opts.ingest;
  const has = (name) => typeof ingestModule[name] === 'function';
  if (want === 'manual') return 'manual';
  if (want !== 'auto') {
    if (!has(want)) throw new Error(`--ingest ${want}: dist/jobs/ingest.js has no such export`);
    return want;
  }
  // The library's own bulk path is preferred (it pipelines normalization, on a worker thread when
  // asked); without one, the plain loop (it also times normalization and writes separately).
  if (has('ingestStream')) return 'ingestStream';
  if (has('ingestNodes')) return 'ingestNodes';
  return 'manual';
}
const ingestMethod = chooseIngest();
// `parallel` (normalize on a worker thread while the main thread writes) exists when the library ships
// its normalize worker; an older ingestNodes ignores the option.
const canParallel = existsSync(join(DIST, 'jobs', 'normalize-worker.js'));
const ingestOptions = { batchSize: BATCH };
if (canParallel && !opts.serial) ingestOptions.parallel = true;
// `bulk` (secondary indexes set aside while loading into a small database, rebuilt at the end, inside the
// timed ingest) is what `traindb ingest` asks for; an older ingestNodes ignores it.
if (!opts['keep-indexes']) ingestOptions.bulk = true;

async function drainOutcomes(outcomes) {
  for (const o of outcomes) {
    tally[o.result]++;
    if (o.transition) tally.transitions++;
    tally.warnings += o.warnings.length;
  }
}

// Every write goes through store.upsertBatch, whichever ingest path is used: wrapping it on this instance
// (not in the library) times the writes and marks each tenth of the ingest by runs actually committed.
const upsertBatchOriginal = store.upsertBatch;
let written = 0;
let upsertCalls = 0;
timing.upsertMs = 0;
store.upsertBatch = async function timedUpsertBatch(runs, options) {
  const t = now();
  try {
    return await upsertBatchOriginal.call(this, runs, options);
  } finally {
    timing.upsertMs += now() - t;
    upsertCalls++;
    const before = written;
    written += runs.length;
    if (Math.floor(before / segmentSize) !== Math.floor(written / segmentSize)) {
      // Cumulative traindb time when each tenth is committed: shows whether writes slow down as the database grows.
      segments.push({
        runs: written,
        traindbMs: now() - ingestStart - timing.generateMs,
        rssMB: process.memoryUsage.rss() / MB,
      });
    }
  }
};
const ingestStart = now();
const cpuStart = process.cpuUsage();
if (ingestMethod === 'manual') {
  timing.normalizeMs = 0;
  let batch = [];
  const flush = async () => {
    let outcomes;
    try {
      outcomes = await store.upsertBatch(batch);
    } catch {
      outcomes = [];
      for (const run of batch) {
        try {
          outcomes.push(await store.upsertRun(run));
        } catch {
          tally.failed++;
        }
      }
    }
    await drainOutcomes(outcomes);
    batch = [];
  };
  for (const node of source()) {
    const t = now();
    try {
      batch.push(normalizeRun(node));
    } catch {
      tally.failed++;
    }
    timing.normalizeMs += now() - t;
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length) await flush();
} else {
  const summary = await ingestModule[ingestMethod](store, source(), ingestOptions);
  for (const k of ['inserted', 'updated', 'unchanged', 'stale', 'transitions']) tally[k] = summary?.[k] ?? 0;
  tally.failed = summary?.failed?.length ?? 0;
  tally.warnings = summary?.warnings?.length ?? 0;
}
const ingestWallMs = now() - ingestStart;
delete store.upsertBatch; // back to the class method for the rest of the run
const cpu = process.cpuUsage(cpuStart);
sampleRss();
const ingestPeakRss = rssSamples.peak;
const ingestMaxRss = process.resourceUsage().maxRSS * 1024; // kB on Linux
const traindbMs = ingestWallMs - timing.generateMs;

results.ingest = {
  method:
    ingestMethod === 'manual'
      ? `normalizeRun + store.upsertBatch (batches of ${BATCH}; same work as ingestNodes)`
      : `${ingestMethod}(${JSON.stringify(ingestOptions)})`,
  parallelNormalization: ingestMethod !== 'manual' && ingestOptions.parallel === true,
  runs: RUNS,
  ...tally,
  wallMs: ingestWallMs,
  generateMs: timing.generateMs,
  traindbMs,
  normalizeMs: timing.normalizeMs,
  upsertMs: timing.upsertMs, // time inside store.upsertBatch (with a parallel pipeline, normalization overlaps it)
  upsertCalls,
  runsPerSec: RUNS / (traindbMs / 1000),
  runsPerSecIncludingGeneration: RUNS / (ingestWallMs / 1000),
  cpuUserMs: cpu.user / 1000,
  cpuSystemMs: cpu.system / 1000,
  // Less sensitive to other processes on the machine than wall time: CPU seconds of this process,
  // minus the generator's (wall) time.
  runsPerCpuSec: RUNS / ((cpu.user + cpu.system) / 1e6 - timing.generateMs / 1000),
  peakRssMB: ingestPeakRss / MB,
  maxRssMB: ingestMaxRss / MB,
  rssSamples: rssSamples.samples,
  // runs/s of traindb work within each tenth of the ingest (the database grows from left to right).
  segments: segments.map((seg, i) => {
    const prev = segments[i - 1] ?? { runs: 0, traindbMs: 0 };
    return {
      upTo: seg.runs,
      runsPerSec: Math.round((seg.runs - prev.runs) / ((seg.traindbMs - prev.traindbMs) / 1000)),
      rssMB: Math.round(seg.rssMB),
    };
  }),
};
log(
  `ingest: ${results.ingest.runsPerSec.toFixed(0)} runs/s (traindb work ${(traindbMs / 1000).toFixed(1)} s; ` +
    `generation ${(timing.generateMs / 1000).toFixed(1)} s excluded), ` +
    `peak RSS ${(ingestPeakRss / MB).toFixed(0)} MB, maxRSS ${(ingestMaxRss / MB).toFixed(0)} MB`,
);
if (tally.failed) results.warnings.push(`${tally.failed} runs failed to ingest`);

if (exporter) {
  // The same runs again (same seed), flattened for DuckDB; not part of any timing or RSS figure.
  const t = now();
  for (const node of iterateRuns({ runs: RUNS, seed: SEED })) exporter.add(flattenForExport(node));
  exporter.close();
  results.ingest.exportPassMs = now() - t;
  log(`wrote the DuckDB export in ${(results.ingest.exportPassMs / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------------
// Sizes: traindb file (checkpointed), then the seed-v1 layout (its own file, and a copy in the same file)
// ---------------------------------------------------------------------------------------------------

const aux = new Database(dbPath, { timeout: 5000 });
aux.pragma('wal_checkpoint(TRUNCATE)');
const counts = aux
  .prepare(
    `SELECT (SELECT count(*) FROM training_runs) AS runs, (SELECT count(*) FROM run_objectives) AS objectives,
            (SELECT count(*) FROM run_attributes) AS attributes, (SELECT count(*) FROM attribute_keys) AS keys`,
  )
  .get();
const traindbBytes = fileSize(dbPath) + fileSize(`${dbPath}-wal`);
let breakdown = [];
try {
  breakdown = aux.prepare(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC`).all();
} catch (e) {
  results.warnings.push(`dbstat unavailable: ${e.message}`);
}
if (counts.runs !== RUNS) {
  const w = `training_runs holds ${counts.runs} rows for ${RUNS} generated runs (generated launch ids collide?)`;
  results.warnings.push(w);
  log('WARNING', w);
}

const V1_COLUMNS = `run_id TEXT PRIMARY KEY, wandb_run_id TEXT UNIQUE, batch_size INTEGER, learning_rate REAL, beta REAL,
  gradient_method TEXT, num_gpus INTEGER, num_objectives INTEGER, num_scaffolds INTEGER,
  config_json TEXT, final_metrics_json TEXT, status TEXT`;
const V1_SELECT = `SELECT run_id, wandb_run_id, batch_size, learning_rate, beta, gradient_method, num_gpus, num_objectives,
  num_scaffolds, config_json, final_metrics_json, status FROM main.training_runs`;
let v1Bytes = null;
let v1BuildMs = null;
if (!opts['skip-v1']) {
  log('building the seed-v1 baseline (v1_runs) in the same file and in its own file');
  const t = now();
  aux.exec(`DROP TABLE IF EXISTS v1_runs; CREATE TABLE v1_runs (${V1_COLUMNS}); INSERT INTO v1_runs ${V1_SELECT};`);
  v1BuildMs = now() - t;
  aux.prepare('ATTACH DATABASE ? AS v1file').run(v1Path);
  aux.exec(`CREATE TABLE v1file.v1_runs (${V1_COLUMNS}); INSERT INTO v1file.v1_runs ${V1_SELECT};`);
  aux.exec('DETACH DATABASE v1file');
  aux.pragma('wal_checkpoint(TRUNCATE)');
  v1Bytes = fileSize(v1Path) + fileSize(`${v1Path}-wal`) + fileSize(`${v1Path}-journal`);
}

results.storage = {
  rows: counts,
  traindbBytes,
  traindbMB: traindbBytes / MB,
  bytesPerRun: traindbBytes / RUNS,
  v1Bytes,
  v1MB: v1Bytes === null ? null : v1Bytes / MB,
  ratioToV1: v1Bytes ? traindbBytes / v1Bytes : null,
  breakdownMB: Object.fromEntries(breakdown.map((r) => [r.name, +(r.bytes / MB).toFixed(2)])),
  v1BuildMs,
  v1Layout: `v1_runs(${V1_COLUMNS.replace(/\s+/g, ' ')}), default page size, no WAL`,
};
log(
  `database ${(traindbBytes / MB).toFixed(1)} MB (file + wal after checkpoint)` +
    (v1Bytes ? `, seed-v1 layout ${(v1Bytes / MB).toFixed(1)} MB → ${(traindbBytes / v1Bytes).toFixed(2)}x` : ''),
);

// ---------------------------------------------------------------------------------------------------
// DuckDB over the JSON-lines export
// ---------------------------------------------------------------------------------------------------

let duck = null;
if (!opts['skip-duckdb']) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const t = now();
  await conn.run(
    `CREATE TABLE runs AS SELECT * FROM read_json_auto('${jsonlPath.replace(/'/g, "''")}', format = 'newline_delimited', sample_size = -1)`,
  );
  const loadMs = now() - t;
  const version = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjectsJS()[0].v;
  results.machine.duckdb = version;
  const threads = (await conn.runAndReadAll("SELECT current_setting('threads') AS t")).getRowObjectsJS()[0].t;
  const nrows = Number((await conn.runAndReadAll('SELECT count(*) AS n FROM runs')).getRowObjectsJS()[0].n);
  const columns = (await conn.runAndReadAll('DESCRIBE runs'))
    .getRowObjectsJS()
    .map((r) => `${r.column_name} ${r.column_type}`);
  duck = { instance, conn };
  results.duckdb = {
    source: `${relative(ROOT, jsonlPath)} (${(fileSize(jsonlPath) / MB).toFixed(1)} MB, ${nrows} lines)`,
    loadMs,
    threads: Number(threads),
    rows: nrows,
    columns,
    note: 'read_json_auto into an in-memory table once (not timed in queries); each query then runs on that table',
  };
  log(
    `DuckDB ${version}: loaded ${nrows} rows, ${columns.length} columns in ${(loadMs / 1000).toFixed(1)} s (${threads} threads)`,
  );
}

// ---------------------------------------------------------------------------------------------------
// 4. The query set
// ---------------------------------------------------------------------------------------------------

const obj = (name) => `json_extract(final_metrics_json, '$."objectives/${name}/raw_mean"')`;
const STRING_VALUE = 'mgda-4obj-final';

/**
 * kind: 'objective' (p50 <= 5 ms), 'group' (<= 50 ms), 'plain' (<= 10 ms). result: 'ids' | 'groups' | 'top'.
 * "Selective" (DuckDB parity applies) is decided from the row count: <= 5% of runs, or a top-N.
 */
const QUERIES = [
  {
    id: 'a',
    label: 'objective.COMT_activity > 0.8',
    kind: 'objective',
    result: 'ids',
    traindb: { where: 'objective.COMT_activity > 0.8' },
    v1: `SELECT run_id FROM v1_runs WHERE ${obj('COMT_activity_maximize')} > 0.8`,
    duck: `SELECT run_id FROM runs WHERE "objective.COMT_activity" > 0.8`,
  },
  {
    id: 'b',
    label: 'COMT > 0.8 and DRD5 > 0.7',
    kind: 'objective',
    result: 'ids',
    traindb: { where: 'objective.COMT_activity > 0.8 and objective.DRD5_activity > 0.7' },
    v1: `SELECT run_id FROM v1_runs WHERE ${obj('COMT_activity_maximize')} > 0.8 AND ${obj('DRD5_activity_maximize')} > 0.7`,
    duck: `SELECT run_id FROM runs WHERE "objective.COMT_activity" > 0.8 AND "objective.DRD5_activity" > 0.7`,
  },
  {
    id: 'c',
    label: 'MGDA vs PCGrad on DRD5 (compare)',
    kind: 'group',
    result: 'groups',
    traindbCompare: {
      by: 'gradient_method',
      objective: 'DRD5_activity',
      where: "status = 'completed' and gradient_method in ('mgda', 'pcgrad')",
    },
    v1: `SELECT g, count(*) AS n, avg(v) AS mean FROM (
           SELECT gradient_method AS g, ${obj('DRD5_activity_maximize')} AS v FROM v1_runs
           WHERE status = 'completed' AND gradient_method IN ('mgda', 'pcgrad')) WHERE v IS NOT NULL
         GROUP BY g ORDER BY mean DESC`,
    duck: `SELECT "config.gradient_method" AS g, count(*) AS n, avg("objective.DRD5_activity") AS mean FROM runs
           WHERE status = 'completed' AND "config.gradient_method" IN ('mgda', 'pcgrad') AND "objective.DRD5_activity" IS NOT NULL
           GROUP BY g ORDER BY mean DESC`,
  },
  {
    id: 'd',
    label: 'config.training.gradient_accumulation_steps > 4',
    kind: 'plain',
    result: 'ids',
    traindb: { where: 'config.training.gradient_accumulation_steps > 4' },
    v1: `SELECT run_id FROM v1_runs WHERE json_extract(config_json, '$.training.gradient_accumulation_steps') > 4`,
    duck: `SELECT run_id FROM runs WHERE "config.training.gradient_accumulation_steps" > 4`,
  },
  {
    id: 'e',
    label: 'summary."train/kl" < 0.1',
    kind: 'plain',
    result: 'ids',
    traindb: { where: 'summary."train/kl" < 0.1' },
    v1: `SELECT run_id FROM v1_runs WHERE json_extract(final_metrics_json, '$."train/kl"') < 0.1`,
    // W&B sends -Infinity as the string "-Infinity"; json_extract yields TEXT, which SQLite orders after
    // every number, so the v1 SQL misses runs whose train/kl is -Infinity (traindb indexes it as a number).
    v1Misses: {
      sql: `SELECT run_id FROM v1_runs WHERE json_extract(final_metrics_json, '$."train/kl"') = '-Infinity'`,
      why: 'v1 compares "-Infinity" as TEXT',
    },
    duck: `SELECT run_id FROM runs WHERE "summary.train/kl" < 0.1`,
  },
  {
    id: 'f',
    label: `config.experiment_name = '${STRING_VALUE}'`,
    kind: 'plain',
    result: 'ids',
    traindb: { where: `config.experiment_name = '${STRING_VALUE}'` },
    v1: `SELECT run_id FROM v1_runs WHERE json_extract(config_json, '$.experiment_name') = '${STRING_VALUE}'`,
    duck: `SELECT run_id FROM runs WHERE "config.experiment_name" = '${STRING_VALUE}'`,
  },
  {
    id: 'g',
    label: 'DRD5 > 0.9 or 5-HT2A > 0.9',
    kind: 'objective',
    result: 'ids',
    traindb: { where: 'objective.DRD5_activity > 0.9 or objective."5-HT2A_activity" > 0.9' },
    v1: `SELECT run_id FROM v1_runs WHERE ${obj('DRD5_activity_maximize')} > 0.9 OR ${obj('5-HT2A_activity_maximize')} > 0.9`,
    duck: `SELECT run_id FROM runs WHERE "objective.DRD5_activity" > 0.9 OR "objective.5-HT2A_activity" > 0.9`,
  },
  {
    id: 'h',
    label: 'top 20 by DRD5_activity',
    kind: 'plain',
    result: 'top',
    traindb: { columns: ['run_id', 'objective.DRD5_activity'], order: ['-objective.DRD5_activity'], limit: 20 },
    v1: `SELECT run_id, v FROM (SELECT run_id, ${obj('DRD5_activity_maximize')} AS v FROM v1_runs) WHERE v IS NOT NULL ORDER BY v DESC LIMIT 20`,
    duck: `SELECT run_id, "objective.DRD5_activity" AS v FROM runs WHERE "objective.DRD5_activity" IS NOT NULL
           ORDER BY v DESC LIMIT 20`,
  },
];

/** Each way returns a normalized answer for the cross-check: sorted ids, groups, or the top values. */
function answerOf(q, rows) {
  if (q.result === 'ids') return { rows: rows.length, key: [...rows].sort().join('\n'), ids: rows };
  if (q.result === 'groups') {
    const groups = rows
      .map((r) => ({ g: r.g, n: Number(r.n), mean: Number(r.mean) }))
      .sort((a, b) => String(a.g).localeCompare(String(b.g)));
    return { rows: groups.reduce((s, g) => s + g.n, 0), key: groups.map((g) => `${g.g}:${g.n}`).join(','), groups };
  }
  return { rows: rows.length, key: rows.map((r) => Number(r).toFixed(9)).join(',') };
}

function traindbRunner(q) {
  if (q.traindbCompare) {
    return async () => {
      const r = await compareGroups(store, q.traindbCompare);
      return r.groups.map((g) => ({ g: g.group, n: g.n, mean: g.mean }));
    };
  }
  const options = { columns: ['run_id'], limit: 1_000_000, ...q.traindb };
  if (q.result === 'top') return async () => (await findRuns(store, options)).map((r) => r['objective.DRD5_activity']);
  return async () => (await findRuns(store, options)).map((r) => r.run_id);
}
function v1Runner(q) {
  const stmt = aux.prepare(q.v1);
  if (q.result === 'ids') {
    stmt.pluck();
    return async () => stmt.all();
  }
  if (q.result === 'top') return async () => stmt.all().map((r) => r.v);
  return async () => stmt.all();
}
function duckRunner(q) {
  return async () => {
    const reader = await duck.conn.runAndReadAll(q.duck);
    if (q.result === 'ids') return reader.getRows().map((r) => r[0]);
    if (q.result === 'top') return reader.getRows().map((r) => r[1]);
    return reader.getRowObjectsJS();
  };
}

/** True when v1 returns a subset of traindb's runs and the missing ones are exactly those q.v1Misses names. */
function explainedByV1(q, v1Ids, traindbIds) {
  const v1 = new Set(v1Ids);
  const t = new Set(traindbIds);
  if ([...v1].some((id) => !t.has(id))) return false;
  const missing = [...t].filter((id) => !v1.has(id)).sort();
  const expected = aux.prepare(q.v1Misses.sql).pluck().all().sort();
  return missing.length === expected.length && missing.every((id, i) => id === expected[i]);
}

/**
 * Warm-up, then `repeat` timed calls. A pathological query must not stall the whole run: timed calls stop
 * once they add up to --budget seconds (at least 3 samples, or 1 when a single call takes over 10 s),
 * and a warm-up call slower than 2 s ends the warm-up. `n` in the result says how many were timed.
 */
async function timeIt(fn, repeat) {
  let last;
  for (let i = 0; i < Math.min(WARMUP, repeat); i++) {
    const t = now();
    last = await fn();
    if (now() - t > 2000) break;
  }
  const samples = [];
  let spent = 0;
  for (let i = 0; i < repeat; i++) {
    const t = now();
    last = await fn();
    const ms = now() - t;
    samples.push(ms);
    spent += ms;
    const minSamples = ms > 10_000 ? 1 : 3;
    if (spent > BUDGET_MS && samples.length >= minSamples) break;
  }
  return { ...stats(samples), last };
}

/** traindb's SQL alone (no JS row objects): SELECT count(*) over the compiled query. */
async function sqlOnlyRunner(q) {
  if (q.traindbCompare) return null;
  const c = await compileRunQuery(store, { columns: ['run_id'], limit: 1_000_000, ...q.traindb });
  // Older compiler: {sql, params}; newer: {steps: [(limit) => {sql, params}]} run until the limit is met.
  const steps = c.steps ? c.steps.map((step) => step(c.limit)) : [{ sql: c.sql, params: c.params }];
  const stmts = steps.map((st) => ({
    stmt: store.db.prepare(`SELECT count(*) FROM (${st.sql})`).pluck(),
    params: st.params,
  }));
  // As findRuns does: the next step runs only while fewer rows than the limit have been found.
  return async () => {
    let n = 0;
    for (const { stmt, params } of stmts) {
      n += stmt.get(...params);
      if (n >= c.limit) break;
    }
    return n;
  };
}

results.queries = [];
for (const q of opts['skip-queries'] ? [] : QUERIES) {
  log(`query ${q.id}: ${q.label}`);
  const entry = { id: q.id, label: q.label, kind: q.kind };
  const t = await timeIt(traindbRunner(q), REPEAT);
  const tAns = answerOf(q, t.last);
  entry.traindb = { p50: t.p50, p95: t.p95, min: t.min, max: t.max, n: t.n, rows: tAns.rows };
  if (tAns.groups) entry.traindb.groups = tAns.groups;
  if (q.result === 'ids') {
    // What the CLI shows by default: the first page (limit 100, newest first).
    const page = await timeIt(async () => findRuns(store, { columns: ['run_id'], ...q.traindb }), REPEAT);
    entry.traindb.firstPageP50 = page.p50;
    entry.traindb.firstPageP95 = page.p95;
  }
  const sqlOnly = await sqlOnlyRunner(q);
  if (sqlOnly) {
    const s = await timeIt(sqlOnly, Math.min(REPEAT, 20));
    entry.traindb.sqlOnlyP50 = s.p50;
  }
  if (q.traindbCompare) {
    entry.traindb.call = `compareGroups(store, ${JSON.stringify(q.traindbCompare)})`;
  } else {
    const options = { columns: ['run_id'], limit: 1_000_000, ...q.traindb };
    entry.traindb.call = `findRuns(store, ${JSON.stringify(options)})`;
    const ex = await explainRuns(store, options);
    entry.traindb.sql = ex.sql;
    entry.traindb.params = ex.params;
    entry.traindb.plan = ex.plan;
  }
  const answers = { traindb: tAns };
  if (!opts['skip-v1']) {
    const v = await timeIt(v1Runner(q), V1_REPEAT);
    answers.v1 = answerOf(q, v.last);
    entry.v1 = {
      p50: v.p50,
      p95: v.p95,
      min: v.min,
      max: v.max,
      n: v.n,
      rows: answers.v1.rows,
      sql: q.v1.replace(/\s+/g, ' '),
    };
    if (answers.v1.groups) entry.v1.groups = answers.v1.groups;
  }
  if (duck) {
    const d = await timeIt(duckRunner(q), REPEAT);
    answers.duckdb = answerOf(q, d.last);
    entry.duckdb = {
      p50: d.p50,
      p95: d.p95,
      min: d.min,
      max: d.max,
      n: d.n,
      rows: answers.duckdb.rows,
      sql: q.duck.replace(/\s+/g, ' '),
    };
    if (answers.duckdb.groups) entry.duckdb.groups = answers.duckdb.groups;
  }
  // Cross-check: same rows (ids / group sizes / top values) every way.
  const mismatches = [];
  const notes = [];
  for (const [way, a] of Object.entries(answers)) {
    if (way === 'traindb') continue;
    if (way === 'v1' && q.v1Misses && a.key !== tAns.key && explainedByV1(q, a.ids, tAns.ids)) {
      notes.push(`v1 misses ${tAns.rows - a.rows} runs: ${q.v1Misses.why}`);
      continue;
    }
    if (a.rows !== tAns.rows) mismatches.push(`${way} rows ${a.rows} != ${tAns.rows}`);
    else if (a.key !== tAns.key)
      mismatches.push(
        `${way}: same count, different ${q.result === 'top' ? 'values' : q.result === 'groups' ? 'groups' : 'runs'}`,
      );
    else if (q.result === 'groups') {
      for (let i = 0; i < a.groups.length; i++) {
        if (Math.abs(a.groups[i].mean - tAns.groups[i].mean) > 1e-9)
          mismatches.push(`${way}: mean of ${a.groups[i].g} differs`);
      }
    }
  }
  entry.check = mismatches.length ? mismatches.join('; ') : notes.length ? `ok*: ${notes.join('; ')}` : 'ok';
  if (mismatches.length) {
    results.warnings.push(`query ${q.id}: ${entry.check}`);
    log('WARNING', `query ${q.id}: ${entry.check}`);
  }

  entry.selective = q.result === 'top' || (q.result === 'ids' && tAns.rows <= 0.05 * RUNS);
  entry.targetMs = q.kind === 'objective' ? 5 : q.kind === 'group' ? 50 : 10;
  entry.ratioV1 = entry.v1 ? entry.traindb.p50 / entry.v1.p50 : null;
  entry.ratioDuckdb = entry.duckdb ? entry.traindb.p50 / entry.duckdb.p50 : null;
  entry.pass = {
    latency: entry.traindb.p50 <= entry.targetMs,
    vsV1: entry.ratioV1 === null ? null : entry.ratioV1 <= 1 / 50,
    vsDuckdb: entry.ratioDuckdb === null || !entry.selective ? null : entry.ratioDuckdb <= 1,
  };
  results.queries.push(entry);
  log(
    `  traindb p50 ${fmtMs(entry.traindb.p50)} ms (${entry.traindb.rows} rows)` +
      (entry.v1 ? `, v1 ${fmtMs(entry.v1.p50)} ms` : '') +
      (entry.duckdb ? `, duckdb ${fmtMs(entry.duckdb.p50)} ms` : '') +
      `, check ${entry.check}`,
  );
}

// ---------------------------------------------------------------------------------------------------
// 5. One incremental poll cycle: 50 runs changed
// ---------------------------------------------------------------------------------------------------

log(`poll cycle: ${POLL_RUNS} changed runs, ${POLL_CYCLES} cycles`);
const stride = Math.max(1, Math.floor(RUNS / POLL_RUNS));
const pollIndexes = Array.from({ length: Math.min(POLL_RUNS, RUNS) }, (_, i) => (i * stride + (SEED % stride)) % RUNS);
const originals = pollIndexes.map((i) => iterateRuns({ runs: 1, seed: SEED, offset: i }).next().value);

function changed(node, cycle) {
  const summary = parseMaybe(node.summaryMetrics);
  const bump = 10 * cycle;
  summary._step = (typeof summary._step === 'number' ? summary._step : 0) + bump;
  if (typeof summary['train/global_step'] === 'number') summary['train/global_step'] += bump;
  summary._runtime = (typeof summary._runtime === 'number' ? summary._runtime : 0) + 60 * cycle;
  summary['train/loss'] = Number((0.05 + ((cycle * 0.137 + summary._step * 1e-5) % 1)).toFixed(6));
  const objectiveKey = Object.keys(summary).find((k) => k.startsWith('objectives/') && k.endsWith('/raw_mean'));
  if (objectiveKey) summary[objectiveKey] = Number(((cycle * 0.0731 + 0.3) % 1).toFixed(6));
  const later = (t) => formatWandbTime(parseWandbTime(t) + cycle * 3600 * 1000 + 30 * 86400 * 1000);
  return {
    ...node,
    summaryMetrics: JSON.stringify(summary),
    updatedAt: later(node.updatedAt),
    heartbeatAt: later(node.heartbeatAt),
  };
}

const poll = { normalizeMs: [], upsertMs: [], totalMs: [], planMs: [], activeListMs: [], outcomes: {} };
for (let cycle = 1; cycle <= POLL_CYCLES; cycle++) {
  const nodes = originals.map((n) => changed(n, cycle));
  if (planSyncModule?.planSync) {
    const t = now();
    await planSyncModule.planSync(store, nodes, {
      entity: nodes[0].project.entityName,
      project: nodes[0].project.name,
      normalize: {},
      source: 'wandb',
      staleBefore: new Date(Date.now() - 3600 * 1000).toISOString(),
    });
    poll.planMs.push(now() - t);
  }
  const t0 = now();
  const normalized = nodes.map((n) => normalizeRun(n));
  const t1 = now();
  const outcomes = await store.upsertBatch(normalized);
  const t2 = now();
  poll.normalizeMs.push(t1 - t0);
  poll.upsertMs.push(t2 - t1);
  poll.totalMs.push(t2 - t0);
  for (const o of outcomes) poll.outcomes[o.result] = (poll.outcomes[o.result] ?? 0) + 1;
  const t3 = now();
  await store.listWandbRunIds(nodes[0].project.entityName, nodes[0].project.name, 'active');
  poll.activeListMs.push(now() - t3);
}
results.poll = {
  runs: pollIndexes.length,
  cycles: POLL_CYCLES,
  change: '_step/+10·cycle, _runtime, train/loss, one objective raw_mean, updatedAt and heartbeatAt moved later',
  total: stats(poll.totalMs),
  normalize: stats(poll.normalizeMs),
  upsert: stats(poll.upsertMs),
  planSync: poll.planMs.length ? stats(poll.planMs) : null,
  listActiveRuns: stats(poll.activeListMs),
  outcomes: poll.outcomes,
};
if ((poll.outcomes.updated ?? 0) !== pollIndexes.length * POLL_CYCLES) {
  results.warnings.push(`poll cycle: expected every run 'updated', got ${JSON.stringify(poll.outcomes)}`);
}
log(
  `  normalize + upsertBatch of ${pollIndexes.length}: p50 ${fmtMs(results.poll.total.p50)} ms, max ${fmtMs(results.poll.total.max)} ms`,
);

// ---------------------------------------------------------------------------------------------------
// Finish: totals, table, JSON
// ---------------------------------------------------------------------------------------------------

sampleRss();
results.machine.loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2));
results.process = { peakRssMB: rssSamples.peak / MB, maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB };
const q = results.queries;
results.targets = [
  {
    target: 'query p50 <= 10 ms (objective <= 5, compare <= 50)',
    value: `${q.filter((e) => e.pass.latency).length}/${q.length} queries`,
    pass: q.every((e) => e.pass.latency),
  },
  ...(opts['skip-v1']
    ? []
    : [
        {
          target: '>= 50x faster than seed-v1',
          value: `${q.filter((e) => e.pass.vsV1).length}/${q.length} queries`,
          pass: q.every((e) => e.pass.vsV1),
        },
      ]),
  ...(duck
    ? [
        {
          target: 'no slower than DuckDB on selective queries',
          value: `${q.filter((e) => e.pass.vsDuckdb === true).length}/${q.filter((e) => e.pass.vsDuckdb !== null).length} selective`,
          pass: q.every((e) => e.pass.vsDuckdb !== false),
        },
      ]
    : []),
  {
    target: 'ingest >= 2000 runs/s end to end',
    value: `${results.ingest.runsPerSec.toFixed(0)} runs/s`,
    pass: results.ingest.runsPerSec >= 2000,
  },
  {
    target: 'peak RSS <= 300 MB (ingest)',
    value: `${results.ingest.maxRssMB.toFixed(0)} MB`,
    pass: results.ingest.maxRssMB <= 300,
  },
  ...(v1Bytes
    ? [
        {
          target: 'database <= 2x seed-v1 size',
          value: `${results.storage.ratioToV1.toFixed(2)}x`,
          pass: results.storage.ratioToV1 <= 2,
        },
      ]
    : []),
  {
    target: `poll cycle (${pollIndexes.length} changed runs) <= 200 ms`,
    value: `${fmtMs(results.poll.total.p50)} ms p50`,
    pass: results.poll.total.p50 <= 200,
  },
];

const table = renderTable(results);
console.log(table);
results.table = table;
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
log(`wrote ${relative(ROOT, OUT)}`);

await store.close();
aux.close();
if (duck) {
  duck.conn.closeSync();
  duck.instance.closeSync();
}
clearInterval(rssTimer);

function renderTable(r) {
  const m = r.machine;
  const lines = [];
  lines.push(
    `traindb benchmark: ${r.options.runs} runs (seed ${r.options.seed}), ${r.date.slice(0, 10)}, ${m.cpus} x ${m.cpuModel}, ${m.memoryGB} GB, ` +
      `node ${m.node}, SQLite ${m.sqlite}${m.duckdb ? `, DuckDB ${m.duckdb}` : ''}${m.gitCommit ? `, commit ${m.gitCommit}${m.srcDirty ? '+dirty' : ''}` : ''}`,
  );
  lines.push(
    `latency in ms over ${r.options.repeat} repeats after ${r.options.warmup} warm-up (seed-v1: ${r.options.v1Repeat} repeats); ` +
      `"first 100" = traindb p50 with the default limit 100; ratio = traindb p50 / other p50`,
  );
  lines.push('');
  const head = [
    'query',
    'rows',
    'traindb p50',
    'p95',
    'first 100',
    'v1 p50',
    'p95',
    'duckdb p50',
    'p95',
    'traindb/v1',
    'traindb/duckdb',
    'check',
    'target',
    '<=target',
    '>=50x v1',
    '<=duckdb',
  ];
  const body = r.queries.map((e) => [
    `${e.id}) ${e.label}`,
    String(e.traindb.rows),
    fmtMs(e.traindb.p50),
    fmtMs(e.traindb.p95),
    fmtMs(e.traindb.firstPageP50),
    fmtMs(e.v1?.p50),
    fmtMs(e.v1?.p95),
    fmtMs(e.duckdb?.p50),
    fmtMs(e.duckdb?.p95),
    fmtRatio(e.ratioV1),
    fmtRatio(e.ratioDuckdb),
    e.check === 'ok' ? 'ok' : e.check.startsWith('ok*') ? 'ok*' : 'MISMATCH',
    `${e.targetMs} ms`,
    mark(e.pass.latency),
    mark(e.pass.vsV1),
    e.selective ? mark(e.pass.vsDuckdb) : 'n/a (not selective)',
  ]);
  lines.push(...align([head, ...body], [0, 11, 12, 13, 14, 15]));
  for (const e of r.queries.filter((x) => x.check.startsWith('ok*'))) lines.push(`  ${e.id}) ${e.check}`);
  for (const e of r.queries) {
    for (const way of ['traindb', 'v1', 'duckdb']) {
      const wanted = way === 'v1' ? r.options.v1Repeat : r.options.repeat;
      if (e[way] && e[way].n < wanted)
        lines.push(
          `  ${e.id}) ${way} timed ${e[way].n} times, not ${wanted}: over the --budget of ${r.options.budgetSeconds} s`,
        );
    }
  }
  lines.push('');
  const i = r.ingest;
  const s = r.storage;
  const p = r.poll;
  const rows2 = [
    ['measure', 'value', 'target', 'result'],
    [
      'ingest, end to end from run nodes',
      `${i.runsPerSec.toFixed(0)} runs/s (${(i.traindbMs / 1000).toFixed(1)} s` +
        (i.normalizeMs !== null
          ? `: normalize ${(i.normalizeMs / 1000).toFixed(1)} s, upsertBatch ${(i.upsertMs / 1000).toFixed(1)} s`
          : `, ${(i.upsertMs / 1000).toFixed(1)} s of it in upsertBatch`) +
        `; generator ${(i.generateMs / 1000).toFixed(1)} s excluded; ${i.method.startsWith('normalizeRun') ? `manual loop, batch ${r.options.batch}` : i.method})`,
      '>= 2000 runs/s',
      mark(i.runsPerSec >= 2000),
    ],
    ...(i.segments?.length >= 2
      ? [
          [
            '  ingest rate as the database grows',
            `${i.segments[0].runsPerSec} runs/s in the first tenth, ${i.segments[i.segments.length - 1].runsPerSec} runs/s in the last`,
            '',
            '',
          ],
        ]
      : []),
    [
      'peak RSS during ingest',
      `${i.maxRssMB.toFixed(0)} MB maxRSS (sampled peak ${i.peakRssMB.toFixed(0)} MB)`,
      '<= 300 MB',
      mark(i.maxRssMB <= 300),
    ],
    [
      'database size (file + wal, checkpointed)',
      `${s.traindbMB.toFixed(1)} MB` +
        (s.v1MB !== null ? ` vs seed-v1 ${s.v1MB.toFixed(1)} MB = ${s.ratioToV1.toFixed(2)}x` : ''),
      '<= 2x v1',
      s.ratioToV1 === null ? 'n/a' : mark(s.ratioToV1 <= 2),
    ],
    [
      `poll cycle: normalize + upsertBatch of ${p.runs} changed runs`,
      `${fmtMs(p.total.p50)} ms p50, ${fmtMs(p.total.max)} ms max (normalize ${fmtMs(p.normalize.p50)}, upsert ${fmtMs(p.upsert.p50)})`,
      '<= 200 ms',
      mark(p.total.p50 <= 200),
    ],
  ];
  lines.push(...align(rows2, [0, 1]));
  if (r.warnings.length) {
    lines.push('');
    for (const w of r.warnings) lines.push(`WARNING: ${w}`);
  }
  return lines.join('\n');
}

/** Pads columns to equal width; columns listed in `left` are left-aligned, the others right-aligned. */
function align(rows, left) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c] ?? '').length)));
  const out = rows.map((row) =>
    row
      .map((cell, c) => (left.includes(c) ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c])))
      .join('  ')
      .trimEnd(),
  );
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out;
}
