import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { hash53 } from '../../src/core/hash.js';
import { API_KEY, deleteRedisPrefix, E, P, REDIS_URL, waitFor } from './harness.js';
import { spawnTraindb, type DaemonProcess } from './spawn.js';

const RUNS = 300;
let dir: string;
let emu: WandbEmulator;
const prefixes: string[] = [];
const daemons: DaemonProcess[] = [];
let redis: Redis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'traindb-crash-'));
  const runs = generateRuns({ runs: RUNS, seed: 11, entity: E, project: P });
  runs.push({ ...runs[0]!, name: 'poison1', id: undefined, config: '{"broken": ' });
  emu = await startWandbEmulator({
    apiKey: API_KEY,
    projects: [{ entity: E, project: P, runs }],
    // Slow pages: jobs trickle in over a second or two, so there is a "middle of work" to kill.
    hooks: { beforePage: () => new Promise((r) => setTimeout(r, 60)) },
  });
  writeFileSync(
    join(dir, 'traindb.yaml'),
    [
      'wandb:',
      '  page_size: 20',
      '  requests_per_second: 100',
      'daemon:',
      '  job_lock: 2s',
      '  shutdown_grace: 5s',
      '  stale_after: 1000d',
    ].join('\n'),
  );
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  for (const d of daemons) if (d.child.exitCode === null) d.child.kill('SIGKILL');
  await emu?.close();
  for (const p of prefixes) await deleteRedisPrefix(p);
  redis?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function start(db: string, prefix: string): DaemonProcess {
  const d = spawnTraindb(
    [
      'daemon',
      '--config',
      join(dir, 'traindb.yaml'),
      '--project',
      `${E}/${P}`,
      '--db',
      db,
      '--interval',
      '300ms',
      '--http-port',
      '0',
      '--queue-prefix',
      prefix,
      '--concurrency',
      '2',
    ],
    { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: emu.url, REDIS_URL },
  );
  daemons.push(d);
  return d;
}

function count(db: string): number {
  if (!existsSync(db)) return 0;
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (conn.prepare('SELECT count(*) AS n FROM training_runs').get() as { n: number }).n;
  } catch {
    return 0; // not migrated yet
  } finally {
    conn.close();
  }
}

async function drained(prefix: string): Promise<boolean> {
  const q = new Queue('sync', { connection: redis, prefix });
  try {
    const c = await q.getJobCounts('wait', 'active', 'delayed', 'failed');
    return c['wait'] === 0 && c['active'] === 0 && c['delayed'] === 0 && c['failed'] === 1;
  } finally {
    await q.close();
  }
}

/** Everything a user can see, minus what legitimately differs between two runs (ids of the index, row times, who observed first). */
function snapshot(db: string) {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const without = (rows: unknown[], ...cols: string[]) =>
      rows.map((r) =>
        Object.fromEntries(Object.entries(r as Record<string, unknown>).filter(([k]) => !cols.includes(k))),
      );
    const attributes = conn
      .prepare(
        `SELECT r.run_id, k.source, k.path, a.value FROM run_attributes a JOIN attribute_keys k USING (key_id)
                JOIN training_runs r ON r.run_key = a.run_key ORDER BY 1, 2, 3, 4`,
      )
      .all();
    return {
      runs: without(
        conn.prepare('SELECT * FROM training_runs ORDER BY run_id').all(),
        'run_key',
        'created_at_db',
        'updated_at_db',
      ),
      objectives: without(
        conn.prepare('SELECT * FROM run_objectives ORDER BY run_id, objective_name').all(),
        'id',
        'run_key',
        'created_at',
      ),
      scaffolds: without(
        conn.prepare('SELECT * FROM run_scaffolds ORDER BY run_id, scaffold_id').all(),
        'id',
        'created_at',
      ),
      events: conn
        .prepare('SELECT run_id, from_status, to_status, detail FROM run_status_events ORDER BY run_id, id')
        .all(),
      sources: conn.prepare('SELECT DISTINCT source FROM run_status_events ORDER BY 1').all(),
      attributes: { count: attributes.length, hash: hash53(JSON.stringify(attributes)) },
    };
  } finally {
    conn.close();
  }
}

describe('daemon process: SIGKILL in the middle of work, then a restart', () => {
  let reference: ReturnType<typeof snapshot>;

  it('an undisturbed daemon syncs everything and exits 0 on SIGTERM', async () => {
    const db = join(dir, 'reference.sqlite');
    const prefix = `test-${randomUUID()}`;
    prefixes.push(prefix);
    const d = start(db, prefix);
    await d.url();
    await waitFor(async () => count(db) === RUNS && (await drained(prefix)), {
      timeoutMs: 30_000,
      what: 'the reference sync',
    });
    d.child.kill('SIGTERM');
    expect(await d.exit()).toEqual({ code: 0, signal: null });
    expect(d.stdout.some((l) => l.includes('"stopped"'))).toBe(true);
    reference = snapshot(db);
    expect(reference.runs).toHaveLength(RUNS);
    expect(reference.events).toHaveLength(RUNS);
  });

  it('converges to the same rows after a SIGKILL mid-work and a restart', async () => {
    const db = join(dir, 'killed.sqlite');
    const prefix = `test-${randomUUID()}`;
    prefixes.push(prefix);
    const first = start(db, prefix);
    await first.url();
    let atKill = 0;
    await waitFor(() => (atKill = count(db)) >= 30, { timeoutMs: 30_000, everyMs: 10, what: 'some work done' });
    first.child.kill('SIGKILL');
    expect(await first.exit()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(atKill).toBeLessThan(RUNS);

    // Redis still holds the dead worker's jobs as active; their locks lapse and the new worker re-runs them.
    const second = start(db, prefix);
    await second.url();
    await waitFor(async () => count(db) === RUNS && (await drained(prefix)), {
      timeoutMs: 40_000,
      what: 'convergence after the restart',
    });
    await new Promise((r) => setTimeout(r, 1000)); // a few more polls: nothing may change any more
    second.child.kill('SIGTERM');
    expect((await second.exit()).code).toBe(0);

    const after = snapshot(db);
    expect(after.attributes).toEqual(reference.attributes);
    expect(after.events).toEqual(reference.events);
    expect(after.objectives).toEqual(reference.objectives);
    expect(after.scaffolds).toEqual(reference.scaffolds);
    expect(after.runs).toEqual(reference.runs);
    for (const s of [...after.sources, ...reference.sources])
      expect(['wandb', 'reconcile']).toContain((s as { source: string }).source);
  });

  it('lists the run that cannot be normalized as a failed job, and nothing printed holds the API key', async () => {
    const jobs = spawnTraindb(['jobs', 'failed', '--queue-prefix', prefixes[1]!, '--format', 'json'], { REDIS_URL });
    expect((await jobs.exit()).code).toBe(0);
    const failed = JSON.parse(jobs.stdout.join('\n')) as Array<Record<string, unknown>>;
    expect(failed).toEqual([
      expect.objectContaining({
        queue: 'sync',
        run: `${E}/${P}/poison1`,
        attempts: 1,
        reason: expect.stringMatching(/config is not valid JSON/),
      }),
    ]);
    // Retry puts it back in line (no daemon is running now, so it waits).
    const retry = spawnTraindb(['jobs', 'retry', '--all', '--queue-prefix', prefixes[1]!], { REDIS_URL });
    expect(await retry.exit()).toEqual({ code: 0, signal: null });
    expect(retry.stdout).toEqual(['1 job(s) queued again']);
    const counts = spawnTraindb(['jobs', 'counts', '--queue-prefix', prefixes[1]!], { REDIS_URL });
    expect((await counts.exit()).code).toBe(0);
    expect(counts.stdout.find((l) => l.startsWith('sync'))).toMatch(/^sync\s+1\s+0\s+0\s+0\s+\d+$/);

    for (const d of daemons) {
      expect(d.stdout.length).toBeGreaterThan(0);
      expect(d.stdout.join('\n') + d.stderr.join('')).not.toContain(API_KEY);
    }
  });
});
