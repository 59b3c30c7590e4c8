import { describe, expect, it } from 'vitest';
import { normalizeRun } from '../../src/core/normalize/run.js';
import { parseWandbJson } from '../../src/core/json.js';
import { resolveExtraction } from '../../src/core/normalize/extraction.js';
import { TraindbError } from '../../src/core/errors.js';
import { makeRun } from '../helpers/runs.js';

const project = { name: 'molecule-rl', entityName: 'lab' };

function node(config: unknown, summary: unknown = {}, extra: Record<string, unknown> = {}) {
  return {
    name: 'abc12345',
    state: 'finished',
    createdAt: '2026-03-01T12:00:00',
    project,
    config: typeof config === 'string' ? config : JSON.stringify(config),
    summaryMetrics: typeof summary === 'string' ? summary : JSON.stringify(summary),
    ...extra,
  };
}

describe('config unwrapping', () => {
  it('unwraps both wire forms and keeps SDK internals out of config_json without losing them', () => {
    const n = normalizeRun(
      node({
        epochs: { value: 10 },
        heavy: { desc: null, value: true },
        _wandb: { desc: null, value: { cli_version: '0.15.6' } },
        wandb_version: 1,
      }),
    );
    expect(JSON.parse(n.run.config_json as string)).toEqual({ epochs: 10, heavy: true });
    expect(JSON.parse(n.run.wandb_internal_json as string)).toEqual({
      _wandb: { cli_version: '0.15.6' },
      wandb_version: 1,
    });
  });

  it('keeps a user dict that merely contains a value key', () => {
    const n = normalizeRun(node({ schedule: { value: { value: 3, warmup: 10 } } }));
    expect(JSON.parse(n.run.config_json as string)).toEqual({ schedule: { value: 3, warmup: 10 } });
  });

  it('treats nested and dotted configs as the same paths', () => {
    const nested = normalizeRun(makeRun({ name: 'a', batch_size: 64, gas: 8 }));
    const flat = normalizeRun(makeRun({ name: 'a', batch_size: 64, gas: 8, flattened: true }));
    expect(flat.run.config_json).toEqual(nested.run.config_json);
    expect(flat.run.batch_size).toBe(64);
    expect(flat.run.gradient_accumulation_steps).toBe(8);
    expect(flat.attributes.filter((a) => a.source === 'config')).toEqual(
      nested.attributes.filter((a) => a.source === 'config'),
    );
    expect(flat.attributes).toContainEqual({
      source: 'config',
      path: 'training.gradient_accumulation_steps',
      value: 8,
    });
  });
});

describe('extracted columns', () => {
  it('fills the seed columns through the default mapping and coerces PyYAML number strings', () => {
    const n = normalizeRun(
      makeRun({
        name: 'a',
        batch_size: '128',
        learning_rate: '1e-4',
        gradient_method: 'pcgrad',
        objectives: { DRD5_activity: ['maximize', 0.9], QED: ['maximize', 0.5] },
      }),
    );
    expect(n.run).toMatchObject({
      batch_size: 128,
      learning_rate: 0.0001,
      gradient_method: 'pcgrad',
      num_objectives: 2,
      beta: 0.05,
      enable_moving_targets: 1,
      max_steps: 1000,
      final_loss: 0.5,
      final_grad_norm: 1.25,
      total_training_steps: 1000,
      duration_seconds: 3600,
      host: 'expanse',
    });
    // The string stays a string in config_json: fidelity to what was logged.
    expect(JSON.parse(n.run.config_json as string).training.learning_rate).toBe('1e-4');
  });

  it('follows a mapping from configuration and warns on values of the wrong shape', () => {
    const extraction = resolveExtraction({ batch_size: ['config.data.bs'], n_clusters: 'config.k' });
    const n = normalizeRun(node({ data: { value: { bs: 'large' } }, k: { value: 7 } }), { extraction });
    expect(n.run.batch_size).toBeNull();
    expect(n.run.n_clusters).toBe(7);
    expect(n.warnings.join('\n')).toContain('batch_size: config.data.bs = "large"');
  });

  it('rejects a mapping onto a column that is not extracted, naming the fix', () => {
    expect(() => resolveExtraction({ status: ['config.x'] })).toThrow(/not an extracted column/);
    expect(() => resolveExtraction({ batch_size: ['training.batch_size'] })).toThrow(/config\.training\.batch_size/);
  });
});

describe('objectives', () => {
  it('merges configured objectives with summary statistics, stripping the direction only at the end', () => {
    const n = normalizeRun(
      makeRun({
        name: 'a',
        objectives: {
          DRD5_activity: ['maximize', 0.81, 'P21918'],
          '5-HT2A_activity': ['maximize', 0.4, 'P28223'],
          'pIC50.DRD1': ['minimize', 0.3],
          SA_score: ['minimize', null],
        },
        summaryOnly: { maximize_maximize: ['maximize', 0.7] },
      }),
    );
    const byName = Object.fromEntries(n.objectives.map((o) => [o.objective_name, o]));
    expect(Object.keys(byName).sort()).toEqual([
      '5-HT2A_activity',
      'DRD5_activity',
      'SA_score',
      'maximize_maximize',
      'pIC50.DRD1',
    ]);
    expect(byName['DRD5_activity']).toMatchObject({
      objective_alias: 'DRD5_activity_maximize',
      uniprot: 'P21918',
      weight: 1,
      direction: 'maximize',
      raw_mean: 0.81,
      normalized_mean: 0.405,
    });
    expect(JSON.parse(byName['DRD5_activity']!.stats_json!)).toEqual({ pass_rate: 0.25 });
    expect(byName['pIC50.DRD1']).toMatchObject({ direction: 'minimize', raw_mean: 0.3 });
    // Only in the config (crashed before logging): still a row, no values.
    expect(byName['SA_score']).toMatchObject({ direction: 'minimize', raw_mean: null, stats_json: null });
    // Only in the summary: still a row, direction from the key.
    expect(byName['maximize_maximize']).toMatchObject({ direction: 'maximize', raw_mean: 0.7, weight: null });
  });

  it('reads objectives logged as a nested dict and matches summary names spelled as the alias', () => {
    const n = normalizeRun(
      node(
        {
          objectives: { value: [{ name: 'DRD5', alias: 'DRD5_activity_maximize', weight: 2, direction: 'maximize' }] },
        },
        { objectives: { DRD5_activity_maximize: { raw_mean: 0.6 } }, 'objectives/QED/raw_mean': 0.9 },
      ),
    );
    expect(n.objectives.map((o) => [o.objective_name, o.raw_mean, o.weight, o.direction])).toEqual([
      ['DRD5', 0.6, 2, 'maximize'],
      ['QED', 0.9, null, null],
    ]);
  });
});

describe('non-finite numbers and rich values', () => {
  it('parses bare NaN/Infinity tokens and the string forms without crashing', () => {
    expect(parseWandbJson('{"a": NaN, "b": -Infinity, "c": "NaN", "d": "Infinity", "e": "a NaN string"}')).toEqual({
      a: Number.NaN,
      b: Number.NEGATIVE_INFINITY,
      c: Number.NaN,
      d: Number.POSITIVE_INFINITY,
      e: 'a NaN string',
    });
    const n = normalizeRun(
      node(
        {},
        '{"train/loss": NaN, "objectives/QED_maximize/raw_mean": "-Infinity", "x": Infinity, "s": "Infinity and beyond"}',
      ),
    );
    expect(n.run.final_loss).toBeNull();
    expect(n.warnings).toEqual([]);
    expect(n.objectives[0]!.raw_mean).toBe(Number.NEGATIVE_INFINITY);
    // Stored JSON stays valid JSON, with W&B's string spelling.
    expect(JSON.parse(n.run.final_metrics_json as string)).toEqual({
      'train/loss': 'NaN',
      'objectives/QED_maximize/raw_mean': '-Infinity',
      x: 'Infinity',
      s: 'Infinity and beyond',
    });
    expect(n.attributes).toContainEqual({ source: 'summary', path: 'x', value: Number.POSITIVE_INFINITY });
    expect(n.attributes.find((a) => a.path === 'train/loss')).toBeUndefined();
  });

  it('stores _type values opaquely and indexes define_metric summaries by sub-key', () => {
    const hist = { _type: 'histogram', values: [1, 2, 3], bins: [0, 1, 2, 3] };
    const n = normalizeRun(node({}, { h: hist, 'train/loss': { min: 0.1, max: 0.9, last: 0.2 } }));
    expect(JSON.parse(n.run.final_metrics_json as string).h).toEqual(hist);
    expect(n.attributes.some((a) => a.path.startsWith('h'))).toBe(false);
    expect(n.attributes).toContainEqual({ source: 'summary', path: 'train/loss.min', value: 0.1 });
    expect(n.run.final_loss).toBe(0.2);
  });
});

describe('status, time and identity', () => {
  it.each([
    ['finished', 'completed'],
    ['running', 'running'],
    ['crashed', 'crashed'],
    ['failed', 'failed'],
    ['killed', 'killed'],
    ['preempted', 'preempted'],
    ['preempting', 'running'],
    ['pending', 'pending'],
  ])('maps state %s to status %s and keeps the state', (state, status) => {
    const n = normalizeRun(node({}, {}, { state }));
    expect(n.run.status).toBe(status);
    expect(n.run.state).toBe(state);
  });

  it('reads zone-less W&B timestamps as UTC', () => {
    const n = normalizeRun(
      node({}, { _runtime: 90 }, { createdAt: '2023-11-05T17:46:35', heartbeatAt: '2023-11-05T17:48:05.5' }),
    );
    expect(n.run.created_at).toBe('2023-11-05T17:46:35.000Z');
    expect(n.run.heartbeat_at).toBe('2023-11-05T17:48:05.500Z');
    expect(n.run.ended_at).toBe('2023-11-05T17:48:05.500Z');
    expect(n.run.duration_seconds).toBe(90);
  });

  it('uses the launch id from the config as run_id, else one derived from the W&B run', () => {
    expect(normalizeRun(makeRun({ name: 'w1', launchId: 'launch-42' })).run).toMatchObject({
      run_id: 'launch-42',
      wandb_run_id: 'w1',
    });
    expect(normalizeRun(makeRun({ name: 'w2' })).run).toMatchObject({
      run_id: 'lab/molecule-rl/w2',
      wandb_run_id: 'w2',
    });
    const custom = normalizeRun(node({ meta: { value: { launch: 'L-7' } } }), { launchIdKey: 'meta.launch' });
    expect(custom.run.run_id).toBe('L-7');
  });

  it('is deterministic: the same node gives the same rows and hash', () => {
    const a = normalizeRun(makeRun({ name: 'x', objectives: { QED: ['maximize', 0.5] } }));
    const b = normalizeRun(makeRun({ name: 'x', objectives: { QED: ['maximize', 0.5] } }));
    expect(b).toEqual(a);
    expect(normalizeRun(makeRun({ name: 'x', objectives: { QED: ['maximize', 0.6] } })).hash).not.toBe(a.hash);
  });

  it('reports a malformed run with its id and the reason', () => {
    expect(() => normalizeRun(node('{"broken": ', {}))).toThrow(/run abc12345: config is not valid JSON/);
    expect(() => normalizeRun({ ...node({}), project: null })).toThrow(/no entity\/project/);
    expect(() => normalizeRun({ ...node({}), name: '' })).toThrow(TraindbError);
    expect(() => normalizeRun(node({}, '[1,2]'))).toThrow(/summaryMetrics must be a JSON object/);
  });
});

describe('the attribute index can be rebuilt from stored JSON', () => {
  it('storedAttributes(row) gives exactly the attributes normalizeRun produced (updates delete by it)', async () => {
    const { storedAttributes } = await import('../../src/core/normalize/stored.js');
    const { generateRuns } = await import('../../src/dev/generate/index.js');
    const key = (a: { source: string; path: string; value: unknown }) =>
      `${a.source}|${a.path}|${typeof a.value}|${String(a.value)}`;
    for (const node of [
      ...generateRuns({ runs: 300, seed: 12 }),
      makeRun({ name: 'f', flattened: true, tags: ['a', 'a', 'b'] }),
    ]) {
      const n = normalizeRun(node);
      expect(storedAttributes(n.run).map(key).sort()).toEqual(n.attributes.map(key).sort());
    }
  });
});
