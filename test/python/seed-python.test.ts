import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { findRuns } from '../../src/query/find-runs.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';
import { makeRun } from '../helpers/runs.js';
import { indexProblems } from '../db/index-consistency.js';

/**
 * The design document promises that "all existing code continues to work": its own Python API
 * (test/python/seed_api.py, standard-library sqlite3 only) against a file traindb created and keeps open,
 * as a daemon would, and traindb's runs read by that API.
 */
type Call = [name: string, args: unknown[], kwargs?: Record<string, unknown>];

function python(path: string, calls: Call[]): unknown[] {
  const result = spawnSync('python3', [join(import.meta.dirname, 'run_calls.py')], {
    input: JSON.stringify(calls.map(([name, args, kwargs]) => [name, args, kwargs ?? {}])),
    env: { ...process.env, TRAINDB_DB_PATH: path, PYTHONPATH: import.meta.dirname },
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`python3 exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as unknown[];
}

// The seed's "At Launch" and "On Completion" steps for one run, with the seed's own function calls.
function launchAndComplete(runId: string, method: string, warmup: number, comt: number, accuracy: number): Call[] {
  const config = {
    gradient_method: method,
    training: { batch_size: 64, learning_rate: 3e-4, warmup_ratio: warmup },
    reward: { beta: 0.05 },
    objectives: [{ name: 'COMT_activity', alias: 'COMT_activity_maximize', weight: 1, direction: 'maximize' }],
  };
  const summary = {
    'train/loss': 0.31,
    'eval/accuracy': accuracy,
    _step: 1000,
    'objectives/COMT_activity_maximize/raw_mean': comt,
  };
  return [
    [
      'insert_run',
      [],
      {
        run_id: runId,
        wandb_run_id: null,
        config_dict: config,
        batch_size: 64,
        learning_rate: 3e-4,
        gradient_method: method,
        num_objectives: 1,
        beta: 0.05,
      },
    ],
    [
      'insert_objective',
      [],
      {
        run_id: runId,
        objective_name: 'COMT_activity',
        objective_alias: 'COMT_activity_maximize',
        uniprot: 'P21964',
        weight: 1,
        direction: 'maximize',
      },
    ],
    [
      'update_run_status',
      [],
      { run_id: runId, status: 'completed', final_metrics_json: summary, final_loss: 0.31, total_training_steps: 1000 },
    ],
    [
      'update_objective_metric',
      [],
      { run_id: runId, objective_name: 'COMT_activity', metric_type: 'raw_mean', value: comt },
    ],
  ];
}

describe("the seed's Python API against a traindb database (python3, sqlite3)", () => {
  let store: RunStore;
  let path: string;
  let cleanup: () => Promise<void>;

  const ids = async (where: string): Promise<string[]> =>
    (await findRuns(store, { where, columns: ['run_id'], limit: 1000, order: ['run_id'] })).map((r) =>
      String(r['run_id']),
    );

  beforeAll(async () => {
    ({ store, path, cleanup } = await tempStore());
    const summary = await ingestNodes(store, [
      makeRun({
        name: 'w1',
        gradient_method: 'pcgrad',
        batch_size: 128,
        objectives: { COMT_activity: ['maximize', 0.91] },
      }),
      makeRun({
        name: 'w2',
        gradient_method: 'pcgrad',
        batch_size: 32,
        objectives: { COMT_activity: ['maximize', 0.95] },
      }),
      makeRun({
        name: 'w3',
        gradient_method: 'mgda',
        batch_size: 128,
        objectives: { COMT_activity: ['maximize', 0.85] },
      }),
    ]);
    expect(summary.failed).toEqual([]);
    // traindb has read (and so indexed) before Python writes: as a running daemon would have.
    expect(await ids("gradient_method = 'pcgrad'")).toHaveLength(2);
    python(path, [
      ...launchAndComplete('py-a', 'mgda', 0.07, 0.88, 0.93),
      ...launchAndComplete('py-b', 'imtlg', 0.1, 0.42, 0.81),
    ]);
  });
  afterAll(async () => {
    await cleanup();
  });

  it('writes with insert_run / insert_objective / update_run_status / update_objective_metric', () => {
    const db = new Database(path, { readonly: true });
    try {
      const runs = db
        .prepare("SELECT run_id, run_key, status FROM training_runs WHERE run_id LIKE 'py-%' ORDER BY run_id")
        .all();
      expect(runs).toEqual([
        { run_id: 'py-a', run_key: 4, status: 'completed' },
        { run_id: 'py-b', run_key: 5, status: 'completed' },
      ]);
      const objective = db
        .prepare(
          "SELECT run_key, raw_mean FROM run_objectives WHERE run_id = 'py-a' AND objective_name = 'COMT_activity'",
        )
        .get();
      expect(objective).toEqual({ run_key: 4, raw_mean: 0.88 });
    } finally {
      db.close();
    }
  });

  it('traindb finds those runs by a config path, a summary key and an objective', async () => {
    expect(await ids('config.training.warmup_ratio = 0.07')).toEqual(['py-a']);
    expect(await ids('summary."eval/accuracy" > 0.9')).toEqual(['py-a']);
    expect(await ids("objective.COMT_activity > 0.8 and config.gradient_method = 'mgda'")).toEqual([
      'lab/molecule-rl/w3',
      'py-a',
    ]);
    expect(await ids("config.gradient_method = 'imtlg' and status = 'completed'")).toEqual(['py-b']);
  });

  it('traindb query (the CLI, a second process) finds them too', async () => {
    python(path, launchAndComplete('py-c', 'aligned_mtl', 0.2, 0.99, 0.97));
    const result = await runCli([
      'query',
      '--db',
      path,
      '-w',
      'config.training.warmup_ratio >= 0.1 and summary."eval/accuracy" > 0.95 and objective.COMT_activity > 0.9',
      '-c',
      'run_id,gradient_method,config.reward.beta',
      '--format',
      'json',
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([
      { run_id: 'py-c', gradient_method: 'aligned_mtl', 'config.reward.beta': 0.05 },
    ]);
  });

  it("the seed's query_runs and query_runs_by_objectives read runs traindb wrote", () => {
    const [byColumns, byObjectives, withStatusInside] = python(path, [
      ['query_runs', [], { filters: { gradient_method: 'pcgrad', min_batch_size: 64, status: 'completed' } }],
      ['query_runs_by_objectives', [{ COMT_activity: { min: 0.86 } }], { status: 'completed' }],
      ['query_runs_by_objectives', [{ COMT_activity: { min: 0.8, max: 0.9 }, status: 'completed' }]],
    ]) as Array<Array<Record<string, unknown>>>;
    expect(byColumns!.map((r) => r['run_id'])).toEqual(['lab/molecule-rl/w1']);
    expect(byColumns![0]!['config_json']).toContain('"batch_size":128');
    const sorted = (rows: Array<Record<string, unknown>>) => rows.map((r) => String(r['run_id'])).sort();
    expect(sorted(byObjectives!)).toEqual(['lab/molecule-rl/w1', 'lab/molecule-rl/w2', 'py-a', 'py-c']);
    expect(sorted(withStatusInside!)).toEqual(['lab/molecule-rl/w3', 'py-a']);
  });

  it('a run deleted with Python sqlite3 leaves traindb with no trace of it', async () => {
    const script = `import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("DELETE FROM training_runs WHERE run_id = 'py-b'")
conn.commit()`;
    const result = spawnSync('python3', ['-c', script, path], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(await ids("config.gradient_method = 'imtlg'")).toEqual([]);
    const db = new Database(path, { readonly: true });
    try {
      expect(indexProblems(db)).toEqual([]);
      expect(db.prepare("SELECT count(*) AS n FROM run_objectives WHERE run_id = 'py-b'").get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});
