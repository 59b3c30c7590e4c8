import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openStore } from '../../db/open-store.js';
import { generateRuns } from '../../dev/generate/index.js';
import { startWandbEmulator } from '../../dev/emulator/index.js';
import { runBackfill } from '../../jobs/backfill.js';
import { DEFAULT_EXTRACTION } from '../../core/normalize/extraction.js';
import { compareGroups } from '../../query/compare.js';
import { findRuns } from '../../query/find-runs.js';
import { queryRuns, queryRunsByObjectives } from '../../query/seed-api.js';
import { createWandbClient } from '../../wandb/index.js';
import { formatRows, table } from '../format.js';
import { createProgress, formatDuration } from '../progress.js';
import { wholeNumber } from '../context.js';

interface DemoFlags {
  runs: string;
  seed: string;
  db: string;
}

const ENTITY = 'demo-lab';
const PROJECT = 'molecule-rl';

/**
 * The main job on embedded defaults: a generated project served by the W&B emulator, a real backfill
 * over HTTP into a fresh SQLite file, then the design document's example queries. No credentials.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      "run the whole pipeline locally: W&B emulator → backfill → the seed document's queries (no credentials)",
    )
    .option('--runs <n>', 'runs in the generated project', '500')
    .option('--seed <n>', 'generator seed', '7')
    .option('--db <path>', 'SQLite file to (re)create', '.tmp/demo.sqlite')
    .action(async (flags: DemoFlags) => {
      const count = wholeNumber('--runs', flags.runs);
      const seed = wholeNumber('--seed', flags.seed, 0);
      const path = resolve(flags.db);
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
      const runs = generateRuns({
        runs: count,
        seed,
        entity: ENTITY,
        project: PROJECT,
      });
      const emulator = await startWandbEmulator({ projects: [{ entity: ENTITY, project: PROJECT, runs }] });
      const { store } = await openStore(path, { create: true });
      try {
        console.log(`W&B emulator: ${emulator.url} serving ${runs.length} generated runs of ${ENTITY}/${PROJECT}`);
        const client = createWandbClient({ baseUrl: emulator.url, apiKey: emulator.apiKey, requestsPerSecond: 50 });
        const progress = createProgress('backfill');
        const result = await runBackfill(client, store, {
          entity: ENTITY,
          project: PROJECT,
          normalize: { extraction: DEFAULT_EXTRACTION },
          onProgress: (p) => progress.update(p.done, p.total),
        });
        progress.finish();
        console.log(
          `backfill: ${result.inserted} runs written to ${path} with ${client.stats().requests} W&B requests ` +
            `in ${formatDuration(result.elapsedMs / 1000)} (${result.failed.length} failed)\n`,
        );

        const section = (title: string, body: string): void => console.log(`== ${title}\n${body}\n`);
        const comt = await store.all(
          `SELECT r.run_id, r.gradient_method, round(o.raw_mean, 3) AS comt_raw_mean FROM training_runs r
           JOIN run_objectives o ON r.run_id = o.run_id
           WHERE o.objective_name = 'COMT_activity' AND o.raw_mean > 0.8 ORDER BY o.raw_mean DESC LIMIT 5`,
        );
        section('Seed SQL: runs where COMT_activity > 0.8 (top 5)', formatRows(comt, 'table'));
        const compare = await store.all(
          `SELECT r.gradient_method, AVG(o.raw_mean) as avg_drd5, COUNT(*) as num_runs
           FROM training_runs r JOIN run_objectives o ON r.run_id = o.run_id
           WHERE o.objective_name = 'DRD5_activity' AND r.status = 'completed'
           GROUP BY r.gradient_method`,
        );
        section('Seed SQL: compare gradient methods on DRD5 (completed runs)', formatRows(compare, 'table'));
        const stats = await compareGroups(store, {
          by: 'gradient_method',
          objective: 'DRD5_activity',
          where: "status = 'completed'",
        });
        section(
          'traindb compare --by gradient_method --objective DRD5_activity --where "status = \'completed\'"',
          table(
            stats.groups.map((g) => ({
              gradient_method: g.group,
              n: g.n,
              mean: g.mean,
              std: g.std,
              min: g.min,
              max: g.max,
            })),
            ['gradient_method', 'n', 'mean', 'std', 'min', 'max'],
          ),
        );
        const mgda = await queryRuns(
          store,
          { gradient_method: 'mgda', min_batch_size: 64, status: 'completed' },
          { limit: 100000 },
        );
        section("queryRuns({gradient_method: 'mgda', min_batch_size: 64, status: 'completed'})", `${mgda.length} runs`);
        const both = await queryRunsByObjectives(
          store,
          { COMT_activity: { min: 0.8 }, DRD5_activity: { min: 0.7 } },
          { status: 'completed' },
          { limit: 100000 },
        );
        section(
          "queryRunsByObjectives({COMT_activity: {min: 0.8}, DRD5_activity: {min: 0.7}}, {status: 'completed'})",
          `${both.length} runs`,
        );
        const where = 'config.training.gradient_accumulation_steps > 4 and summary."train/kl" < 0.1';
        const any = await findRuns(store, {
          where,
          columns: ['run_id', 'gradient_method', 'config.training.gradient_accumulation_steps', 'summary."train/kl"'],
          order: ['summary."train/kl"'],
          limit: 5,
        });
        section(`traindb query --where '${where}' (top 5 by train/kl)`, formatRows(any, 'table'));
        console.log(
          `Explore it yourself:\n  npx traindb query --db ${flags.db} --where "objective.QED > 0.8" --order -objective.QED -n 10\n  sqlite3 ${flags.db} 'SELECT count(*) FROM run_objectives'`,
        );
      } finally {
        await store.close();
        await emulator.close();
      }
    });
}
