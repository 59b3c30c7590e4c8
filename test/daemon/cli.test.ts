import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/db.js';
import { spawnTraindb } from './spawn.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const db = join(dir, 'runs.sqlite');

async function traindb(args: string[], env: Record<string, string> = {}) {
  const p = spawnTraindb(args, env);
  const { code } = await p.exit();
  return { code, out: p.stdout.join('\n'), err: p.stderr.join('') };
}

function query(sql: string): unknown[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(sql).all();
  } finally {
    conn.close();
  }
}

describe('traindb launch and annotate', () => {
  it('registers a run at launch from its YAML config, once', async () => {
    const yaml = join(dir, 'run.yaml');
    writeFileSync(
      yaml,
      [
        'gradient_method: mgda',
        'training: {batch_size: 128, learning_rate: 1e-4}',
        'objectives:',
        '  - {name: QED, direction: maximize, weight: 1}',
      ].join('\n'),
    );
    const first = await traindb([
      'launch',
      '--config',
      yaml,
      '--run-id',
      'L-7',
      '--host',
      'ec2',
      '--instance-id',
      'i-0abc',
      '--db',
      db,
    ]);
    expect(first).toMatchObject({ code: 0, out: 'registered L-7 (launched)' });
    expect(
      query(
        'SELECT run_id, status, host, instance_id, config_file_path, batch_size, learning_rate, gradient_method FROM training_runs',
      ),
    ).toEqual([
      {
        run_id: 'L-7',
        status: 'launched',
        host: 'ec2',
        instance_id: 'i-0abc',
        config_file_path: yaml,
        batch_size: 128,
        learning_rate: 0.0001,
        gradient_method: 'mgda',
      },
    ]);
    expect(query('SELECT objective_name, direction FROM run_objectives')).toEqual([
      { objective_name: 'QED', direction: 'maximize' },
    ]);
    expect(query('SELECT from_status, to_status, source FROM run_status_events')).toEqual([
      { from_status: null, to_status: 'launched', source: 'launch' },
    ]);

    const again = await traindb(['launch', '--config', yaml, '--run-id', 'L-7', '--db', db]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/L-7 is already known \(status launched\)/);
    expect(query('SELECT count(*) AS n FROM run_status_events')).toEqual([{ n: 1 }]);
  });

  it('refuses a run id that differs from the one in the config', async () => {
    const yaml = join(dir, 'with-id.yaml');
    writeFileSync(yaml, 'run_id: A-1\nlr: 0.1\n');
    const res = await traindb(['launch', '--config', yaml, '--run-id', 'B-2', '--db', db]);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/differs from the config's run_id \(A-1\)/);
    expect((await traindb(['launch', '--config', yaml, '--db', db])).out).toBe('registered A-1 (launched)');
  });

  it('sets and clears attachments', async () => {
    const res = await traindb([
      'annotate',
      'L-7',
      '--error-log-s3-key',
      's3://logs/L-7.txt',
      '--blog-post-url',
      'https://blog/l7',
      '--db',
      db,
    ]);
    expect(res).toMatchObject({ code: 0, out: 'L-7: set error_log_s3_key, blog_post_url' });
    expect(await traindb(['annotate', 'L-7', '--blog-post-url', '', '--db', db])).toMatchObject({ code: 0 });
    expect(query("SELECT error_log_s3_key, blog_post_url FROM training_runs WHERE run_id = 'L-7'")).toEqual([
      { error_log_s3_key: 's3://logs/L-7.txt', blog_post_url: null },
    ]);
    expect(await traindb(['annotate', 'nope', '--blog-post-url', 'x', '--db', db])).toMatchObject({
      code: 1,
      err: 'traindb: no run nope\n',
    });
    expect((await traindb(['annotate', 'L-7', '--db', db])).code).toBe(2);
  });
});

describe('traindb daemon: start-up validation', () => {
  it('exits 2 naming what is missing or wrong', async () => {
    const noProject = await traindb(['daemon', '--db', db], { WANDB_API_KEY: 'k' });
    expect(noProject).toMatchObject({ code: 2, err: expect.stringMatching(/no projects to sync: pass --project/) });
    const badInterval = await traindb(['daemon', '--project', 'a/b', '--interval', 'often', '--db', db], {
      WANDB_API_KEY: 'k',
    });
    expect(badInterval).toMatchObject({ code: 2, err: expect.stringMatching(/--interval: 'often' is not a duration/) });
    const open = await traindb(['daemon', '--project', 'a/b', '--http-host', '0.0.0.0', '--db', db], {
      WANDB_API_KEY: 'k',
    });
    expect(open).toMatchObject({ code: 2, err: expect.stringMatching(/set TRAINDB_API_TOKEN/) });
  });
});
