import { describe, expect, it } from 'vitest';
import { generateRuns, iterateRuns, OBJECTIVE_POOL } from '../../src/dev/generate/index.js';
import { countConfigParams } from '../../src/dev/generate/config.js';
import type { WandbRunNode } from '../../src/core/wandb-run.js';

type Obj = Record<string, unknown>;
const parse = (s: unknown): Obj => JSON.parse(s as string) as Obj;
const SAMPLE = generateRuns({ runs: 4000, seed: 11 });

/** The config as the training YAML had it: unwrap {value}/{desc,value}, drop SDK internals. */
function unwrapConfig(run: WandbRunNode): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(parse(run.config))) {
    if (k === '_wandb' || k === 'wandb_version') continue;
    out[k] = (v as Obj).value;
  }
  return out;
}

describe('generateRuns', () => {
  it('is deterministic for a seed, and run i does not depend on how many runs are asked for', () => {
    const a = generateRuns({ runs: 30, seed: 42 });
    expect(generateRuns({ runs: 30, seed: 42 })).toEqual(a);
    expect(generateRuns({ runs: 10, seed: 42 })).toEqual(a.slice(0, 10));
    expect(generateRuns({ runs: 5, seed: 42, offset: 10 })).toEqual(a.slice(10, 15));
    const b = generateRuns({ runs: 30, seed: 43 });
    expect(b.map((r) => r.name)).not.toEqual(a.map((r) => r.name));
  });

  it('produces W&B-shaped identity, timestamps and project fields', () => {
    const runs = generateRuns({ runs: 200, seed: 1, entity: 'lab', project: 'proj', startTime: '2026-03-01T12:00:00' });
    const names = new Set<string>();
    let previous = '';
    for (const r of runs) {
      expect(r.name).toMatch(/^[a-z0-9]{8}$/);
      names.add(r.name);
      expect(r.displayName).toMatch(/^[a-z]+-[a-z]+-\d+$/);
      for (const t of [r.createdAt, r.heartbeatAt, r.updatedAt]) expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      expect(r.createdAt! > previous).toBe(true);
      previous = r.createdAt!;
      expect(r.heartbeatAt! >= r.createdAt!).toBe(true);
      expect(r.updatedAt! >= r.heartbeatAt!).toBe(true);
      expect(r.project).toEqual({ name: 'proj', entityName: 'lab' });
      expect(r.host).toMatch(/^(expanse-gpu-\d+|ip-10-0-\d+-\d+)$/);
      expect(typeof r.config).toBe('string');
      expect(typeof r.summaryMetrics).toBe('string');
      expect(Object.keys(parse(r.systemMetrics)).every((k) => k.startsWith('system.'))).toBe(true);
    }
    expect(names.size).toBe(runs.length);
    expect(runs[0]!.createdAt!.startsWith('2026-03-01T12:')).toBe(true);
  });

  it("mixes states like the users' runs", () => {
    const counts: Record<string, number> = {};
    for (const r of SAMPLE) counts[r.state!] = (counts[r.state!] ?? 0) + 1;
    const share = (s: string): number => (counts[s] ?? 0) / SAMPLE.length;
    expect(share('finished')).toBeGreaterThan(0.65);
    expect(share('finished')).toBeLessThan(0.75);
    for (const s of ['running', 'crashed', 'failed', 'killed', 'preempted']) expect(share(s)).toBeGreaterThan(0.01);
  });

  it('writes both config wire forms, flattened training sections and SDK internals', () => {
    let legacy = 0,
      modern = 0,
      flattened = 0,
      internals = 0,
      versionKey = 0;
    for (const r of SAMPLE) {
      const cfg = parse(r.config);
      const entries = Object.entries(cfg).filter(([k]) => k !== 'wandb_version');
      if (entries.every(([, v]) => Object.keys(v as Obj).join() === 'desc,value' && (v as Obj).desc === null)) legacy++;
      else if (entries.every(([, v]) => Object.keys(v as Obj).join() === 'value')) modern++;
      if ('training.batch_size' in cfg) flattened++;
      if ('_wandb' in cfg) internals++;
      if (cfg.wandb_version === 1) versionKey++;
    }
    expect(legacy + modern).toBe(SAMPLE.length);
    expect(legacy / SAMPLE.length).toBeGreaterThan(0.1);
    expect(legacy / SAMPLE.length).toBeLessThan(0.2);
    expect(flattened / SAMPLE.length).toBeGreaterThan(0.06);
    expect(flattened / SAMPLE.length).toBeLessThan(0.14);
    expect(internals).toBeGreaterThan(0);
    expect(versionKey).toBeGreaterThan(0);
  });

  it('nests the training YAML with 50–100 parameters and realistic values', () => {
    let stringRates = 0;
    const methods = new Set<unknown>();
    for (const r of SAMPLE) {
      const cfg = unwrapConfig(r);
      if ('training.batch_size' in cfg) continue;
      const training = cfg.training as Obj;
      expect([16, 32, 64, 128]).toContain(training.batch_size);
      expect([1, 2, 4, 8, 16]).toContain(training.gradient_accumulation_steps);
      const lr = training.learning_rate;
      if (typeof lr === 'string') {
        stringRates++;
        expect(lr).toMatch(/^\de-\d$/);
      } else {
        expect(lr).toBeGreaterThanOrEqual(1e-5);
        expect(lr).toBeLessThanOrEqual(1e-3);
      }
      expect((training.optimizer as Obj).name).toBeTypeOf('string');
      expect(typeof (cfg.reward as Obj).beta).toBe('number');
      expect(typeof (cfg.reward as Obj).enable_moving_targets).toBe('boolean');
      methods.add(cfg.gradient_method);
      expect(cfg.num_scaffolds as number).toBeGreaterThanOrEqual(10);
      expect(cfg.num_scaffolds as number).toBeLessThanOrEqual(1000);
      expect(['expanse', 'ec2']).toContain(cfg.host);
      expect(Object.keys(cfg.clustering as Obj)).toEqual(expect.arrayContaining(['n_clusters', 'return_groups']));
      if (cfg.run_id !== undefined) expect(cfg.run_id).toMatch(/^run-\d{8}-[0-9a-f]{6}$/);
      const params = countConfigParams(cfg);
      expect(params).toBeGreaterThanOrEqual(50);
      expect(params).toBeLessThanOrEqual(100);
    }
    expect([...methods].sort()).toEqual(['aligned_mtl', 'imtlg', 'mgda', 'pcgrad', 'standard']);
    expect(stringRates / SAMPLE.length).toBeGreaterThan(0.05);
    expect(stringRates / SAMPLE.length).toBeLessThan(0.15);
    const withLaunchId = SAMPLE.filter((r) => unwrapConfig(r).run_id !== undefined).length / SAMPLE.length;
    expect(withLaunchId).toBeGreaterThan(0.75);
    expect(withLaunchId).toBeLessThan(0.85);
  });

  it('lists 3–20 objectives with aliases, directions and UniProt ids for protein targets', () => {
    const names = new Set<string>();
    for (const r of SAMPLE) {
      const objectives = unwrapConfig(r).objectives as Obj[];
      expect(objectives.length).toBeGreaterThanOrEqual(3);
      expect(objectives.length).toBeLessThanOrEqual(20);
      for (const o of objectives) {
        names.add(o.name as string);
        expect(o.alias).toBe(`${o.name as string}_${o.direction as string}`);
        expect(['maximize', 'minimize']).toContain(o.direction);
        const def = OBJECTIVE_POOL.find((d) => d.name === o.name)!;
        if (def.uniprot) expect((o.params as Obj).uniprot).toMatch(/^[OPQ]\d[A-Z0-9]{3}\d$/);
        else expect((o.params as Obj | undefined)?.uniprot).toBeUndefined();
        if (o.name === 'SA_score') expect(o.direction).toBe('minimize');
      }
    }
    for (const n of [
      'DRD5_activity',
      'COMT_activity',
      'QED',
      'SA_score',
      '5-HT2A_activity',
      'pIC50.DRD1',
      'DRD2_activity',
      'HTR1A_activity',
      'logP',
    ])
      expect(names).toContain(n);
  });

  it('writes summaries with W&B keys, per-objective stats, rich values and non-finite strings', () => {
    let nonFinite = 0,
      histograms = 0,
      defineMetric = 0,
      summaryOnly = 0,
      silentObjective = 0,
      scaffolds = 0,
      drd5 = 0,
      drd5High = 0;
    const forms = new Set<string>();
    const missingStats: string[] = [];
    for (const r of SAMPLE) {
      const s = parse(r.summaryMetrics);
      const keys = Object.keys(s);
      if (r.state === 'finished') {
        expect(keys.length).toBeGreaterThanOrEqual(100);
        expect(keys.length).toBeLessThanOrEqual(150);
        expect(s._wandb).toEqual({ runtime: expect.any(Number) });
        for (const k of [
          '_step',
          '_runtime',
          '_timestamp',
          'train/loss',
          'train/kl',
          'train/grad_norm',
          'train/learning_rate',
          'train/reward_mean',
        ])
          expect(keys).toContain(k);
      }
      let hit = false;
      for (const v of Object.values(s)) {
        if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') {
          hit = true;
          forms.add(v);
        }
        if (v && typeof v === 'object' && (v as Obj)._type === 'histogram') histograms++;
        if (v && typeof v === 'object' && 'min' in v && 'max' in v) defineMetric++;
      }
      if (hit) nonFinite++;
      const configured = new Set((unwrapConfig(r).objectives as Obj[]).map((o) => o.alias as string));
      const logged = new Set(keys.filter((k) => k.startsWith('objectives/')).map((k) => k.split('/')[1]!));
      if ([...logged].some((a) => !configured.has(a))) summaryOnly++;
      if ([...configured].some((a) => !logged.has(a))) silentObjective++;
      if (keys.some((k) => k.startsWith('scaffolds/'))) scaffolds++;
      const v = s['objectives/DRD5_activity_maximize/raw_mean'];
      if (typeof v === 'number') {
        drd5++;
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
        if (v > 0.8) drd5High++;
      }
      for (const stat of ['raw_mean', 'normalized_mean', 'raw_std', 'normalized_std', 'pass_rate']) {
        for (const a of logged)
          if (!(`objectives/${a}/${stat}` in s)) missingStats.push(`${r.name}: objectives/${a}/${stat}`);
      }
    }
    expect(missingStats).toEqual([]);
    expect(nonFinite / SAMPLE.length).toBeGreaterThan(0.015);
    expect(nonFinite / SAMPLE.length).toBeLessThan(0.05);
    expect([...forms].sort()).toEqual(['-Infinity', 'Infinity', 'NaN']);
    expect(histograms).toBeGreaterThan(0);
    expect(defineMetric).toBeGreaterThan(0);
    expect(summaryOnly / SAMPLE.length).toBeGreaterThan(0.03);
    expect(summaryOnly / SAMPLE.length).toBeLessThan(0.08);
    expect(silentObjective).toBeGreaterThan(0);
    expect(scaffolds).toBeGreaterThan(0);
    expect(drd5High).toBeGreaterThan(0);
    expect(drd5High / drd5).toBeLessThan(0.3);
  });

  it('keeps running runs smaller and crashed-early runs free of objective metrics', () => {
    const size = (r: WandbRunNode): number => Object.keys(parse(r.summaryMetrics)).length;
    const avg = (rs: WandbRunNode[]): number => rs.reduce((n, r) => n + size(r), 0) / rs.length;
    expect(avg(SAMPLE.filter((r) => r.state === 'running'))).toBeLessThan(
      avg(SAMPLE.filter((r) => r.state === 'finished')),
    );
    const early = SAMPLE.filter(
      (r) =>
        (r.state === 'crashed' || r.state === 'failed') &&
        !Object.keys(parse(r.summaryMetrics)).some((k) => k.startsWith('objectives/')),
    );
    expect(early.length).toBeGreaterThan(0);
  });

  it('streams 10,000 runs quickly without collecting them', () => {
    const started = Date.now();
    let bytes = 0;
    for (const r of iterateRuns({ runs: 10_000, seed: 5 })) bytes += (r.summaryMetrics as string).length;
    expect(bytes).toBeGreaterThan(0);
    // 100K runs must take well under a minute: 10K in under 10 s leaves room for a slow CI machine.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
