import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { registerDevCommands, runGenerate, startEmulatorFromFlags } from '../../src/cli/commands/dev.js';
import { readRuns, streamRuns } from '../../src/dev/data-file.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { gql } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'traindb-dev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('traindb dev', () => {
  it('dev generate writes {"runs":[...]} that reads back identical to generateRuns', async () => {
    const out = join(dir, 'runs.json');
    const program = new Command('traindb').exitOverride();
    registerDevCommands(program);
    await program.parseAsync(
      ['dev', 'generate', '--runs', '25', '--seed', '4', '--entity', 'e1', '--project', 'p1', '--out', out],
      { from: 'user' },
    );
    const parsed = JSON.parse(readFileSync(out, 'utf8')) as { runs: unknown[] };
    expect(parsed.runs).toEqual(generateRuns({ runs: 25, seed: 4, entity: 'e1', project: 'p1' }));
    expect(await readRuns(out)).toEqual(parsed.runs);
  });

  it('reads large {"runs":[...]} files line by line (V8 strings cap whole-file parsing near 512 MB)', async () => {
    const out = join(dir, 'big-layout.json');
    await runGenerate({ runs: 12, seed: 6, entity: 'e', project: 'p', out });
    const names: string[] = [];
    for await (const run of streamRuns(out, 0)) names.push(run.name);
    expect(names).toEqual(generateRuns({ runs: 12, seed: 6 }).map((r) => r.name));
  });

  it('writes JSON lines with --jsonl', async () => {
    const out = join(dir, 'runs.jsonl');
    const n = await runGenerate({ runs: 7, seed: 2, entity: 'e', project: 'p', out, jsonl: true });
    expect(n).toBe(7);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(7);
    expect((await readRuns(out)).map((r) => r.name)).toEqual(generateRuns({ runs: 7, seed: 2 }).map((r) => r.name));
  });

  it('dev wandb-emulator serves a data file plus generated runs and prints the env to use', async () => {
    const data = join(dir, 'serve.json');
    await runGenerate({ runs: 10, seed: 8, entity: 'from-file', project: 'pf', out: data });
    const lines: string[] = [];
    const emu = await startEmulatorFromFlags(
      {
        data,
        generate: 15,
        seed: 3,
        port: 0,
        host: '127.0.0.1',
        entity: 'gen',
        project: 'pg',
        apiKey: 'cli-secret-key',
      },
      (l) => lines.push(l),
    );
    try {
      expect(lines.join('\n')).toContain(`WANDB_BASE_URL=${emu.url}`);
      expect(lines.join('\n')).toContain('WANDB_API_KEY=');
      expect(lines.join('\n')).not.toContain('cli-secret-key');
      const q = 'query ($e: String, $p: String) { project(name: $p, entityName: $e) { runCount } }';
      expect((await gql(emu, q, { e: 'from-file', p: 'pf' })).body.data.project.runCount).toBe(10);
      expect((await gql(emu, q, { e: 'gen', p: 'pg' })).body.data.project.runCount).toBe(15);
      expect((await gql(emu, q, { e: 'gen', p: 'pg' }, { key: 'emulator-key' })).status).toBe(401);
    } finally {
      await emu.close();
    }
  });
});
