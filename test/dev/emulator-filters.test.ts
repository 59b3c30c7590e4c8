import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWandbEmulator } from '../../src/dev/emulator/index.js';
import type { WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import type { WandbRunNode } from '../../src/core/wandb-run.js';
import { gql, pageAll } from './helpers.js';

const E = 'lab';
const P = 'filters';
const RUNS = generateRuns({ runs: 800, seed: 33, entity: E, project: P });
let emu: WandbEmulator;

beforeAll(async () => {
  emu = await startWandbEmulator({ projects: [{ entity: E, project: P, runs: RUNS }] });
});
afterAll(() => emu.close());

type Obj = Record<string, unknown>;
const config = (r: WandbRunNode): Obj => JSON.parse(r.config as string) as Obj;
const summary = (r: WandbRunNode): Obj => JSON.parse(r.summaryMetrics as string) as Obj;
const wrapped = (r: WandbRunNode, key: string): unknown => (config(r)[key] as Obj | undefined)?.value;

async function names(filters: unknown, order?: string): Promise<string[]> {
  return pageAll(emu, {
    entity: E,
    project: P,
    filters: JSON.stringify(filters),
    first: 200,
    ...(order ? { order } : {}),
  });
}
const sorted = (xs: string[]): string[] => [...xs].sort();
const expectMatch = async (filters: unknown, pick: (r: WandbRunNode) => boolean): Promise<number> => {
  const expected = RUNS.filter(pick).map((r) => r.name);
  expect(sorted(await names(filters))).toEqual(sorted(expected));
  return expected.length;
};

describe('W&B emulator: MongoDB-style filters', () => {
  it('compares timestamps as W&B strings ($gt on createdAt, created_at alias)', async () => {
    const pivot = RUNS[500]!.createdAt!;
    const n = await expectMatch({ createdAt: { $gt: pivot } }, (r) => r.createdAt! > pivot);
    expect(n).toBe(299);
    await expectMatch({ created_at: { $gte: pivot } }, (r) => r.createdAt! >= pivot);
    await expectMatch({ heartbeat_at: { $lt: pivot } }, (r) => r.heartbeatAt! < pivot);
    // A zone designator changes the string: "...Z" sorts after the bare form, so equality is lost.
    expect(await names({ createdAt: { $eq: `${pivot}Z` } })).toEqual([]);
  });

  it('supports $in, $nin, $ne, $or, $and, $nor, $exists and $regex on run attributes', async () => {
    await expectMatch(
      { state: { $in: ['running', 'crashed'] } },
      (r) => r.state === 'running' || r.state === 'crashed',
    );
    await expectMatch({ state: { $nin: ['finished'] } }, (r) => r.state !== 'finished');
    await expectMatch(
      { state: { $ne: 'finished' }, host: { $regex: '^expanse-' } },
      (r) => r.state !== 'finished' && r.host!.startsWith('expanse-'),
    );
    await expectMatch(
      { $or: [{ state: 'failed' }, { jobType: 'eval' }] },
      (r) => r.state === 'failed' || r.jobType === 'eval',
    );
    await expectMatch(
      { $and: [{ state: 'finished' }, { group: { $exists: true } }] },
      (r) => r.state === 'finished' && r.group !== undefined,
    );
    await expectMatch(
      { $nor: [{ state: 'finished' }, { state: 'running' }] },
      (r) => r.state !== 'finished' && r.state !== 'running',
    );
    await expectMatch({ displayName: { $regex: '-fox-' } }, (r) => r.displayName!.includes('-fox-'));
    await expectMatch({ group: null }, (r) => r.group === null || r.group === undefined);
  });

  it('matches tags by membership', async () => {
    const n = await expectMatch({ tags: 'baseline' }, (r) => r.tags!.includes('baseline'));
    expect(n).toBeGreaterThan(0);
    await expectMatch({ tags: { $in: ['paper', 'debug'] } }, (r) =>
      r.tags!.some((t) => t === 'paper' || t === 'debug'),
    );
  });

  it('addresses config.<key> with or without .value', async () => {
    const n = await expectMatch({ 'config.gradient_method': 'mgda' }, (r) => wrapped(r, 'gradient_method') === 'mgda');
    expect(n).toBeGreaterThan(0);
    await expectMatch({ 'config.gradient_method.value': { $in: ['pcgrad', 'imtlg'] } }, (r) =>
      ['pcgrad', 'imtlg'].includes(wrapped(r, 'gradient_method') as string),
    );
    await expectMatch(
      { 'config.num_scaffolds.value': { $gte: 500 } },
      (r) => (wrapped(r, 'num_scaffolds') as number) >= 500,
    );
  });

  it('reaches nested config values via config.<top>.value.<sub> and config.<top>.<sub>', async () => {
    const pick = (r: WandbRunNode): boolean =>
      ((wrapped(r, 'training') as Obj | undefined)?.batch_size as number) >= 64;
    const n = await expectMatch({ 'config.training.value.batch_size': { $gte: 64 } }, pick);
    expect(n).toBeGreaterThan(0);
    await expectMatch({ 'config.training.batch_size': { $gte: 64 } }, pick);
    await expectMatch(
      { 'config.training.value.optimizer.name': 'lion' },
      (r) => ((wrapped(r, 'training') as Obj | undefined)?.optimizer as Obj | undefined)?.name === 'lion',
    );
  });

  it('never matches config keys that contain a dot (flattened training.* keys), like W&B', async () => {
    const flattened = RUNS.filter((r) => 'training.batch_size' in config(r));
    expect(flattened.length).toBeGreaterThan(0);
    const got = new Set(await names({ 'config.training.batch_size': { $exists: true } }));
    for (const r of flattened) expect(got.has(r.name)).toBe(false);
  });

  it('compares numbers only with numbers: a "1e-4" string learning rate is not < 1e-3', async () => {
    const stringRate = RUNS.filter(
      (r) => typeof (wrapped(r, 'training') as Obj | undefined)?.learning_rate === 'string',
    );
    expect(stringRate.length).toBeGreaterThan(0);
    const got = new Set(await names({ 'config.training.value.learning_rate': { $lte: 1e-3 } }));
    for (const r of stringRate) expect(got.has(r.name)).toBe(false);
    await expectMatch(
      { 'config.training.value.learning_rate': { $eq: '1e-4' } },
      (r) => (wrapped(r, 'training') as Obj | undefined)?.learning_rate === '1e-4',
    );
  });

  it('filters summary_metrics.<key>, including objective stats and nested _wandb.runtime', async () => {
    const key = 'objectives/DRD5_activity_maximize/raw_mean';
    const n = await expectMatch(
      { [`summary_metrics.${key}`]: { $gt: 0.8 } },
      (r) => typeof summary(r)[key] === 'number' && (summary(r)[key] as number) > 0.8,
    );
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(RUNS.length / 5);
    await expectMatch(
      { 'summary_metrics._wandb.runtime': { $gt: 36000 } },
      (r) => ((summary(r)._wandb as Obj | undefined)?.runtime as number) > 36000,
    );
    await expectMatch({ 'summary_metrics.train/loss': 'NaN' }, (r) => summary(r)['train/loss'] === 'NaN');
    // An objective name with a dot cannot be addressed: the dot splits the path.
    expect(await names({ 'summary_metrics.objectives/pIC50.DRD1_maximize/raw_mean': { $exists: true } })).toEqual([]);
  });

  it('returns GraphQL errors for malformed filters', async () => {
    const q = `query ($f: JSONString) { project(name: "${P}", entityName: "${E}") { runCount(filters: $f) } }`;
    for (const f of [
      '{not json',
      '{"state": {"$bogus": 1}}',
      '{"$where": "1"}',
      '{"unknownKey": 1}',
      '{"name": {"$regex": "("}}',
    ]) {
      const res = await gql(emu, q, { f });
      expect(res.status).toBe(200);
      expect(res.body.errors.length).toBeGreaterThan(0);
      expect(res.body.data.project).toBeNull();
    }
    // JSONString means a string: an inlined object is refused rather than guessed at.
    const res = await gql(emu, q, { f: { state: 'finished' } });
    expect(res.body.errors[0].message).toMatch(/JSON string/);
  });
});
