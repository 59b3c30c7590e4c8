import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from './harness.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/traindb.js`;

export interface DaemonProcess {
  child: ChildProcess;
  /** stdout lines (JSON logs) and stderr text, as written so far. */
  stdout: string[];
  stderr: string[];
  /** The API's base URL, from the "daemon started" log line. */
  url(): Promise<string>;
  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the built CLI (`npm test` builds dist/ first), as a deployment would. */
export function spawnTraindb(args: string[], env: Record<string, string>): DaemonProcess {
  if (!existsSync(`${ROOT}dist/cli/main.js`)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    // Only what the test means: no DATABASE_URL/TRAINDB_CONFIG/REDIS_URL from the outer shell.
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const text = partial + d.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    stdout.push(...lines.filter(Boolean));
  });
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout,
    stderr,
    async url() {
      let found: string | undefined;
      await waitFor(
        () => {
          if (child.exitCode !== null)
            throw new Error(`traindb exited (${child.exitCode}): ${stderr.join('')}${stdout.join('\n')}`);
          const line = stdout.find((l) => l.includes('"daemon started"'));
          found = line ? (JSON.parse(line) as { http: string }).http : undefined;
          return found !== undefined;
        },
        { timeoutMs: 20_000, what: 'the daemon to start' },
      );
      return found!;
    },
    exit: () => exited,
  };
}
