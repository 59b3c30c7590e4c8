/**
 * The official W&B Python client's own GraphQL documents, run verbatim against the emulator over HTTP.
 * The fixtures (test/dev/fixtures/wandb-sdk/sdk-<tag>.json, MIT, github.com/wandb/wandb at the tag and
 * commit they name) are extracted from the SDK sources by extract.py beside them. Each answer must have
 * the shape the client reads: api.runs() with its include_sweeps sweep look-ups, api.run(),
 * api.projects(), project.sweeps(), the viewer and serverInfo probes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startWandbEmulator } from '../../src/dev/emulator/index.js';
import type { EmulatorLogLevel, WandbEmulator } from '../../src/dev/emulator/index.js';
import type { WandbRunNode } from '../../src/core/wandb-run.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { gql } from './helpers.js';

interface SdkQuery {
  name: string;
  path: string;
  query: string;
  variables: Record<string, unknown>;
}
interface SdkFixture {
  origin: { repo: string; tag: string; commit: string; licence: string };
  queries: SdkQuery[];
}

const VERSIONS = ['v0.19.11', 'v0.27.2', 'v0.28.2'] as const;
const fixtures = new Map<string, SdkFixture>(
  VERSIONS.map((v) => [
    v,
    JSON.parse(readFileSync(new URL(`./fixtures/wandb-sdk/sdk-${v}.json`, import.meta.url), 'utf8')) as SdkFixture,
  ]),
);

const E = 'molgen-lab';
const P = 'multiobjective-rl';
const SEEDED = 'swp0seed';
const DERIVED = 'swp1runs';
const logs: { line: string; level: EmulatorLogLevel }[] = [];
let emu: WandbEmulator;
let sweepRunNames: string[];

function inSweep(runs: WandbRunNode[], sweep: string, from: number, count: number): WandbRunNode[] {
  return runs.map((r, i) => (i >= from && i < from + count ? { ...r, sweepName: sweep } : r));
}

beforeAll(async () => {
  let runs: WandbRunNode[] = generateRuns({ runs: 24, seed: 12, entity: E, project: P }).map((r) => ({
    ...r,
    sweepName: null,
  }));
  runs = inSweep(runs, SEEDED, 0, 5);
  runs = inSweep(runs, DERIVED, 10, 3);
  runs[11] = { ...runs[11]!, state: 'running' };
  sweepRunNames = runs.filter((r) => r.sweepName === SEEDED).map((r) => r.name);
  emu = await startWandbEmulator({
    projects: [
      {
        entity: E,
        project: P,
        runs,
        sweeps: [
          {
            name: SEEDED,
            displayName: 'lr search',
            state: 'FINISHED',
            config: {
              method: 'bayes',
              metric: { name: 'loss', goal: 'minimize' },
              parameters: { lr: { min: 0.0001, max: 0.1 } },
            },
            bestLoss: 0.125,
            runCountExpected: 20,
          },
        ],
      },
      { entity: E, project: 'second-project', runs: [] },
      { entity: 'other-team', project: 'theirs', runs: [] },
    ],
    log: (line, level) => logs.push({ line, level }),
  });
});
afterAll(() => emu.close());

function vars(q: SdkQuery, sweep = SEEDED): Record<string, unknown> {
  const text = JSON.stringify(q.variables)
    .replaceAll('$ENTITY', E)
    .replaceAll('$PROJECT', P)
    .replaceAll('$SWEEP', sweep)
    .replaceAll('$RUN', sweepRunNames[0]!);
  return JSON.parse(text) as Record<string, unknown>;
}

function query(version: string, name: string): SdkQuery {
  const q = fixtures.get(version)?.queries.find((x) => x.name === name);
  if (!q) throw new Error(`no ${name} in the ${version} fixture`);
  return q;
}

/** Sends the fixture's document verbatim; any status but 200 or any `errors` fails the test with the body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk the JSON the client reads
async function run(version: string, name: string, sweep?: string): Promise<any> {
  const q = query(version, name);
  const res = await gql(emu, q.query, vars(q, sweep));
  expect(res.status, `${version} ${name}: ${res.text}`).toBe(200);
  expect(res.body.errors, `${version} ${name}: ${res.text}`).toBeUndefined();
  return res.body.data;
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;

describe('fixtures: the SDK documents the tests send', () => {
  it.each(VERSIONS)('%s names its origin (repo, tag, commit, MIT) and holds the documents', (v) => {
    const f = fixtures.get(v)!;
    expect(f.origin).toMatchObject({ repo: 'github.com/wandb/wandb', tag: v, licence: 'MIT' });
    expect(f.origin.commit).toMatch(/^[0-9a-f]{40}$/);
    const names = f.queries.map((q) => q.name);
    for (const n of ['api.runs', 'sweep.get', 'sweep.get_legacy', 'api.projects', 'project.sweeps', 'api.viewer'])
      expect(names).toContain(n);
  });
});

describe.each(VERSIONS)('the W&B Python client %s against the emulator', (v) => {
  it('api.runs(path): the Runs page has what Runs/Run read', async () => {
    const data = await run(v, 'api.runs');
    const project = data.project;
    expect(project.internalId).toEqual(expect.any(String));
    expect(project.runCount).toBe(24);
    expect(project.readOnly).toBe(false);
    expect(project.runs.edges).toHaveLength(24);
    expect(project.runs.pageInfo).toEqual({ endCursor: expect.any(String), hasNextPage: false });
    for (const edge of project.runs.edges) {
      expect(edge.cursor).toEqual(expect.any(String));
      expect(edge.node).toMatchObject({
        id: expect.any(String),
        name: expect.any(String),
        createdAt: expect.stringMatching(TIME),
      });
      expect(edge.node.state).toEqual(expect.any(String));
      if (v !== 'v0.19.11') expect(edge.node.projectId).toEqual(expect.any(Number));
      // RunFragment (0.19) carries config and summary as JSON strings the client json.loads.
      if (edge.node.config !== undefined) expect(() => JSON.parse(edge.node.config)).not.toThrow();
    }
    const names = project.runs.edges.filter((e: { node: { sweepName: string } }) => e.node.sweepName);
    expect(names).toHaveLength(8);
  });

  it('api.runs with include_sweeps: one sweep look-up per sweep the page names answers every field', async () => {
    const runs = (await run(v, 'api.runs')).project.runs.edges.map((e: { node: { sweepName: string } }) => e.node);
    const sweeps = [...new Set<string>(runs.map((r: { sweepName: string }) => r.sweepName).filter(Boolean))];
    expect(sweeps.sort()).toEqual([SEEDED, DERIVED]);
    for (const s of sweeps) {
      const sweep = (await run(v, 'sweep.get', s)).project.sweep;
      expect(sweep).not.toBeNull();
      expect(sweep.name).toBe(s);
      expect(sweep.id).toEqual(expect.any(String));
      expect(sweep.state).toEqual(expect.any(String));
      expect(sweep).toHaveProperty('bestLoss');
      expect(sweep).toHaveProperty('runCountExpected');
      // Sweep.config is YAML the client loads with util.load_yaml; Sweep.name falls back to config.name.
      const config = parseYaml(sweep.config) as Record<string, unknown>;
      expect(config).toEqual(expect.objectContaining({ method: expect.any(String) }));
      if (v !== 'v0.19.11') {
        expect(sweep.__typename).toBe('Sweep');
        expect(sweep.method).toBe(config.method);
        expect(sweep.createdAt).toMatch(TIME);
        expect(sweep.runCount).toBe(s === SEEDED ? 5 : 3);
      }
    }
    const seeded = (await run(v, 'sweep.get', SEEDED)).project.sweep;
    expect(seeded).toMatchObject({ state: 'FINISHED', bestLoss: 0.125, runCountExpected: 20 });
    expect(parseYaml(seeded.config)).toEqual({
      method: 'bayes',
      metric: { name: 'loss', goal: 'minimize' },
      parameters: { lr: { min: 0.0001, max: 0.1 } },
    });
    const derived = (await run(v, 'sweep.get', DERIVED)).project.sweep;
    expect(derived).toMatchObject({ state: 'RUNNING', bestLoss: null, runCountExpected: null });
    const legacy = (await run(v, 'sweep.get_legacy', SEEDED)).project.sweep;
    expect(legacy).toMatchObject({ name: SEEDED, state: 'FINISHED', bestLoss: 0.125 });
    // An unknown sweep is null (the client then returns None), not an error.
    expect((await run(v, 'sweep.get', 'nosuchsw')).project.sweep).toBeNull();
  });

  it("sweep.runs: the Runs query with the client's sweep filter returns exactly the sweep's runs", async () => {
    const q = query(v, 'api.runs');
    const res = await gql(emu, q.query, { ...vars(q), filters: JSON.stringify({ $and: [{ sweep: SEEDED }] }) });
    expect(res.status).toBe(200);
    const names = res.body.data.project.runs.edges.map((e: { node: { name: string } }) => e.node.name);
    expect(names.sort()).toEqual([...sweepRunNames].sort());
    expect(res.body.data.project.runCount).toBe(5);
  });

  it('api.run(path) of a run in a sweep', async () => {
    const run1 = (await run(v, v === 'v0.19.11' ? 'run.load' : 'api.run')).project.run;
    expect(run1).toMatchObject({ name: sweepRunNames[0], sweepName: SEEDED, projectId: expect.any(Number) });
    expect(() => JSON.parse(run1.config)).not.toThrow();
    expect(() => JSON.parse(run1.summaryMetrics)).not.toThrow();
    expect(run1.historyKeys).toEqual(expect.objectContaining({ keys: expect.any(Object) }));
  });

  it('api.projects(entity): models lists the entity’s projects with ProjectFragment', async () => {
    const models = (await run(v, 'api.projects')).models;
    expect(models.pageInfo).toMatchObject({ endCursor: expect.any(String), hasNextPage: false });
    const nodes = models.edges.map((e: { node: unknown }) => e.node);
    expect(nodes.map((n: { name: string }) => n.name)).toEqual([P, 'second-project']);
    for (const n of nodes) {
      expect(n).toMatchObject({ id: expect.any(String), entityName: E, isBenchmark: false });
      expect(n.createdAt).toMatch(TIME);
    }
    if (v !== 'v0.19.11') {
      expect(models.pageInfo.__typename).toBe('PageInfo');
      expect(nodes[0].__typename).toBe('Project');
      expect(nodes[0]).toHaveProperty('user');
    }
  });

  it('project.sweeps(): totalSweeps and a page of sweeps', async () => {
    const project = (await run(v, 'project.sweeps')).project;
    expect(project.totalSweeps).toBe(2);
    const nodes = project.sweeps.edges.map((e: { node: { name: string } }) => e.node);
    expect(nodes.map((n: { name: string }) => n.name).sort()).toEqual([SEEDED, DERIVED]);
    expect(project.sweeps.pageInfo.hasNextPage).toBe(false);
    for (const n of nodes) {
      expect(n).toMatchObject({ id: expect.any(String), method: expect.any(String), runCount: expect.any(Number) });
      expect(() => parseYaml(n.config)).not.toThrow();
    }
  });

  it('the viewer and serverInfo probes', async () => {
    for (const q of fixtures.get(v)!.queries) {
      if (!/viewer|server|probe|login|default_entity/.test(q.name)) continue;
      const data = await run(v, q.name);
      if ('viewer' in data) expect(data.viewer).toMatchObject({ id: expect.any(String) });
      if (q.query.includes('entity') && data.viewer) expect(data.viewer.entity).toBe(E);
      if (data.serverInfo?.latestLocalVersionInfo)
        expect(data.serverInfo).toMatchObject({
          cliVersionInfo: { max_cli_version: expect.stringMatching(/^\d+\.\d+\.\d+$/) },
          latestLocalVersionInfo: { outOfDate: false, latestVersionString: expect.any(String) },
        });
      if (data.serverInfo?.features)
        expect(data.serverInfo.features).toContainEqual({ name: 'SWEEPS_QUERY_FILTERING', isEnabled: true });
      if ('RunType' in data) expect(data.RunType.fields.map((f: { name: string }) => f.name)).toContain('projectId');
    }
  });
});

describe('a mutation gets a clear 400 and is logged', () => {
  it.each(['v0.27.2', 'v0.28.2'])('%s api.create_run (UpsertBucket)', async (v) => {
    logs.length = 0;
    const q = query(v, 'api.create_run');
    const res = await gql(emu, q.query, vars(q));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/read-only/);
    expect(res.body.errors[0].message).toContain('mutation UpsertBucket { upsertBucket }');
    expect(res.body.data).toBeUndefined();
    expect(emu.getRun(E, P, 'newrun01')).toBeUndefined();
    expect(logs).toEqual([
      {
        level: 'warn',
        line: expect.stringMatching(
          /^WARN POST \/graphql 400 UpsertBucket refused mutation UpsertBucket \{ upsertBucket \}/,
        ),
      },
    ]);
  });
});

describe('the log names what the emulator rejected', () => {
  it('names unknown fields and arguments, not values', async () => {
    logs.length = 0;
    const res = await gql(
      emu,
      'query Q($secret: String) { project(name: "p", entityName: $secret) { bogus runs(bogusArg: "s3cr3t-value") { totalCount } } }',
      { secret: 'hush-hush' },
    );
    expect(res.status).toBe(400);
    expect(logs).toHaveLength(1);
    expect(logs[0]!.level).toBe('warn');
    expect(logs[0]!.line).toContain('not in the schema: Project.bogus, Project.runs(bogusArg)');
    expect(logs[0]!.line).not.toContain('s3cr3t-value');
    expect(logs[0]!.line).not.toContain('hush-hush');
  });

  it('logs a 200 answer that carries errors as an error', async () => {
    logs.length = 0;
    const res = await gql(
      emu,
      'query Bad($f: JSONString) { project(name: "multiobjective-rl", entityName: "molgen-lab") { runCount(filters: $f) } }',
      {
        f: '{"nope": 1}',
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.errors[0].message).toContain('unsupported filter key "nope"');
    expect(logs).toEqual([
      {
        level: 'error',
        line: expect.stringMatching(
          /^ERROR POST \/graphql 200 Bad errors=1: unsupported filter key "nope" at project\.runCount /,
        ),
      },
    ]);
  });

  it('logs an injected graphqlError fault (HTTP 200 with errors) as an error', async () => {
    logs.length = 0;
    emu.setFaults({ script: [{ kind: 'graphqlError' }] });
    const res = await gql(emu, 'query V { viewer { id } }');
    emu.setFaults(undefined);
    expect(res.status).toBe(200);
    expect(logs[0]).toMatchObject({ level: 'error', line: expect.stringMatching(/^ERROR .* fault=graphqlError/) });
  });
});

describe('filters the client and users send', () => {
  const COUNT = `query C($f: JSONString) { project(name: "${P}", entityName: "${E}") { runCount(filters: $f) } }`;

  it('the entity key matches the project’s entity', async () => {
    const same = await gql(emu, COUNT, { f: JSON.stringify({ entity: E }) });
    expect(same.body).toEqual({ data: { project: { runCount: 24 } } });
    const other = await gql(emu, COUNT, { f: JSON.stringify({ $and: [{ entity: 'someone-else' }] }) });
    expect(other.body).toEqual({ data: { project: { runCount: 0 } } });
  });

  it('a key named like an Object.prototype member is not a run attribute', async () => {
    const res = await gql(emu, COUNT, { f: JSON.stringify({ toString: 'x' }) });
    expect(res.body.errors[0].message).toContain('unsupported filter key "toString"');
  });

  it('sweeps(filters) filters on sweep fields and names a bad key', async () => {
    const q = `query S($f: JSONString) { project(name: "${P}", entityName: "${E}") { sweeps(filters: $f) { edges { node { name state } } } } }`;
    const running = await gql(emu, q, { f: JSON.stringify({ state: 'RUNNING' }) });
    expect(running.body.data.project.sweeps.edges).toEqual([{ node: { name: DERIVED, state: 'RUNNING' } }]);
    const bad = await gql(emu, q, { f: JSON.stringify({ bestLoss: 1 }) });
    expect(bad.status).toBe(200);
    expect(bad.body.errors[0].message).toMatch(/unsupported sweep filter key "bestLoss": use one of name,/);
  });

  it('sweeps page with offset cursors like runs', async () => {
    const q = `query S($after: String) { project(name: "${P}", entityName: "${E}") { sweeps(first: 1, after: $after) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } } }`;
    const first = await gql(emu, q, {});
    expect(first.body.data.project.sweeps.pageInfo.hasNextPage).toBe(true);
    const second = await gql(emu, q, { after: first.body.data.project.sweeps.pageInfo.endCursor });
    expect(second.body.data.project.sweeps.pageInfo.hasNextPage).toBe(false);
    const names = [first, second].map((r) => r.body.data.project.sweeps.edges[0].node.name);
    expect(names.sort()).toEqual([SEEDED, DERIVED]);
  });

  it('Run.sweep resolves to the same sweep as Project.sweep', async () => {
    const res = await gql(
      emu,
      `query { project(name: "${P}", entityName: "${E}") { run(name: "${sweepRunNames[1]}") { sweep { id name displayName runCount } } sweep(sweepName: "${SEEDED}") { id } } }`,
    );
    expect(res.body.data.project.run.sweep).toEqual({
      id: res.body.data.project.sweep.id,
      name: SEEDED,
      displayName: 'lr search',
      runCount: 5,
    });
  });
});
