/**
 * `traindb dev ...`: developer tools that stand in for W&B, which is unreachable from here.
 *   dev generate        synthetic runs shaped like the users' (JSON or JSON lines)
 *   dev wandb-emulator  a local W&B GraphQL server over generated or loaded runs
 */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { groupByProject, readRuns, writeRuns } from '../../dev/data-file.js';
import { startWandbEmulator } from '../../dev/emulator/index.js';
import type { FaultOptions, ProjectSeed, WandbEmulator } from '../../dev/emulator/index.js';
import { DEFAULT_ENTITY, DEFAULT_PROJECT, iterateRuns } from '../../dev/generate/index.js';

const DEFAULT_EMULATOR_KEY = 'emulator-key';

function intFlag(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function probabilityFlag(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number between 0 and 1');
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

interface GenerateFlags {
  runs: number;
  seed: number;
  entity: string;
  project: string;
  startTime?: string;
  interval?: number;
  out?: string;
  jsonl?: boolean;
}

export async function runGenerate(flags: GenerateFlags, stdout: Writable = process.stdout): Promise<number> {
  const runs = iterateRuns({
    runs: flags.runs,
    seed: flags.seed,
    entity: flags.entity,
    project: flags.project,
    ...(flags.startTime !== undefined ? { startTime: flags.startTime } : {}),
    ...(flags.interval !== undefined ? { intervalSeconds: flags.interval } : {}),
  });
  const format = flags.jsonl ? 'jsonl' : 'json';
  if (!flags.out) return writeRuns(stdout, runs, format);
  const file = createWriteStream(flags.out);
  const n = await writeRuns(file, runs, format);
  file.end();
  await finished(file);
  return n;
}

export interface EmulatorFlags {
  data?: string;
  generate?: number;
  seed: number;
  port: number;
  host: string;
  entity: string;
  project: string;
  apiKey?: string;
  faultRate?: number;
  faultSeed?: number;
  poisonRun?: string[];
  maxPageSize?: number;
  verbose?: boolean;
}

/** Starts the emulator as the CLI does (exported for tests); the caller closes it. */
export async function startEmulatorFromFlags(
  flags: EmulatorFlags,
  print: (line: string) => void,
): Promise<WandbEmulator> {
  const projects: ProjectSeed[] = [];
  if (flags.data) {
    for (const g of groupByProject(await readRuns(flags.data), flags.entity, flags.project).values())
      projects.push({ entity: g.entity, project: g.project, runs: g.runs });
  }
  if (flags.generate !== undefined) {
    projects.push({
      entity: flags.entity,
      project: flags.project,
      runs: iterateRuns({ runs: flags.generate, seed: flags.seed, entity: flags.entity, project: flags.project }),
    });
  }
  if (projects.length === 0) projects.push({ entity: flags.entity, project: flags.project, runs: [] });
  const faults: FaultOptions = {
    ...(flags.faultRate !== undefined ? { probability: flags.faultRate, seed: flags.faultSeed ?? 1 } : {}),
    ...(flags.poisonRun ? { poisonRuns: flags.poisonRun } : {}),
  };
  const emulator = await startWandbEmulator({
    host: flags.host,
    port: flags.port,
    apiKey: flags.apiKey ?? DEFAULT_EMULATOR_KEY,
    projects,
    defaultEntity: flags.entity,
    faults,
    ...(flags.maxPageSize !== undefined ? { maxPageSize: flags.maxPageSize } : {}),
    ...(flags.verbose ? { log: (line: string) => print(line) } : {}),
  });
  print(`W&B emulator listening on ${emulator.url} (POST ${emulator.url}/graphql)`);
  for (const p of projects)
    print(`  project ${p.entity}/${p.project}: ${emulator.listRuns(p.entity, p.project).length} runs`);
  // The key is echoed only when it is the well-known default: a key passed in is not ours to print.
  const key = flags.apiKey === undefined ? DEFAULT_EMULATOR_KEY : '<the --api-key value>';
  print(
    `WANDB_BASE_URL=${emulator.url} WANDB_API_KEY=${key} WANDB_ENTITY=${flags.entity} WANDB_PROJECT=${flags.project}`,
  );
  return emulator;
}

export function registerDevCommands(program: Command): void {
  const dev = program.command('dev').description('developer tools: synthetic runs and a local W&B emulator');

  dev
    .command('generate')
    .description('write synthetic W&B runs shaped like the users\' ({"runs":[...]} or JSON lines)')
    .requiredOption('--runs <n>', 'how many runs', intFlag('--runs'))
    .option('--seed <n>', 'PRNG seed: same seed, same runs', intFlag('--seed'), 1)
    .option('--entity <name>', 'W&B entity', DEFAULT_ENTITY)
    .option('--project <name>', 'W&B project', DEFAULT_PROJECT)
    .option('--start-time <iso>', 'createdAt of the first run (UTC; default 2025-01-01T00:00:00)')
    .option('--interval <seconds>', 'mean seconds between run creations (default 300)', intFlag('--interval', 2))
    .option('--out <file>', 'output file (default: stdout)')
    .option('--jsonl', 'one run per line instead of {"runs":[...]}')
    .action(async (flags: GenerateFlags) => {
      const n = await runGenerate(flags);
      if (flags.out) console.error(`wrote ${n} runs to ${flags.out}`);
    });

  dev
    .command('wandb-emulator')
    .description('serve a local W&B GraphQL API (POST /graphql) until interrupted')
    .option('--data <file>', 'runs to serve: {"runs":[...]}, an array, or JSON lines')
    .option('--generate <n>', 'also serve n generated runs', intFlag('--generate'))
    .option('--seed <n>', 'seed for --generate', intFlag('--seed'), 1)
    .option('--port <n>', 'port (0 = any free port)', intFlag('--port'), 0)
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--entity <name>', 'entity for generated runs and runs that name none', DEFAULT_ENTITY)
    .option('--project <name>', 'project for generated runs and runs that name none', DEFAULT_PROJECT)
    .option('--api-key <key>', `accepted API key (default ${DEFAULT_EMULATOR_KEY})`)
    .option('--fault-rate <p>', 'inject a random fault into this fraction of requests', probabilityFlag)
    .option('--fault-seed <n>', 'seed for --fault-rate', intFlag('--fault-seed'))
    .option('--poison-run <name>', 'a run whose presence in a page makes it fail with 500 (repeatable)', collect)
    .option('--max-page-size <n>', 'largest page served (default 1000)', intFlag('--max-page-size', 1))
    .option('--verbose', 'log one line per request')
    .action(async (flags: EmulatorFlags) => {
      const emulator = await startEmulatorFromFlags(flags, (line) => console.log(line));
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await emulator.close();
      console.log('W&B emulator stopped');
    });
}
