import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { API_KEY, deleteRedisPrefix, E, P, REDIS_URL, waitFor } from './harness.js';
import { ROOT } from './spawn.js';

let dir: string;
let emu: WandbEmulator;
const prefix = `test-npx-${randomUUID()}`;
let npx: ChildProcess | undefined;
let daemonPid: number | undefined;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  // An app directory with traindb installed, as `npm install traindb` leaves it (linked to this checkout).
  dir = mkdtempSync(join(tmpdir(), 'traindb-npx-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npx-app', private: true }));
  mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/traindb'));
  symlinkSync('../traindb/bin/traindb.js', join(dir, 'node_modules/.bin/traindb'));
  emu = await startWandbEmulator({
    apiKey: API_KEY,
    projects: [{ entity: E, project: P, runs: generateRuns({ runs: 5, seed: 3, entity: E, project: P }) }],
  });
});
afterAll(async () => {
  if (npx?.exitCode === null) npx.kill('SIGKILL');
  if (daemonPid !== undefined && alive(daemonPid)) process.kill(daemonPid, 'SIGKILL');
  await emu?.close();
  await deleteRedisPrefix(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('`npx traindb daemon` under a process manager', () => {
  it('shuts down cleanly when only npx gets SIGTERM (npm does not pass it on to the daemon)', async () => {
    npx = spawn(
      'npx',
      [
        '--no',
        'traindb',
        'daemon',
        '--db',
        join(dir, 'traindb.sqlite'),
        '--project',
        `${E}/${P}`,
        '--http-port',
        '0',
        '--queue-prefix',
        prefix,
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? dir,
          WANDB_API_KEY: API_KEY,
          WANDB_BASE_URL: emu.url,
          REDIS_URL,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, as a process manager starts it: the test's signal goes to npx alone.
        detached: true,
      },
    );
    const lines: string[] = [];
    let stderr = '';
    npx.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    npx.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => lines.some((l) => l.includes('"daemon started"')), {
      timeoutMs: 30_000,
      what: `the daemon to start under npx (stderr: ${stderr})`,
    });
    const started = JSON.parse(lines.find((l) => l.includes('"daemon started"'))!) as { pid: number };
    daemonPid = started.pid;
    expect(daemonPid).not.toBe(npx.pid);

    const npxExited = new Promise((resolve) => npx!.once('exit', resolve));
    npx.kill('SIGTERM');
    await npxExited;
    await waitFor(() => !alive(daemonPid!), { timeoutMs: 20_000, what: 'the daemon to exit after npx did' });
    expect(lines.some((l) => l.includes('exited without passing on its signal: shutting down'))).toBe(true);
    expect(lines.some((l) => l.includes('"stopped"'))).toBe(true);
  }, 60_000);
});
