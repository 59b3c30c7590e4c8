import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, E, P, getJson, liveRun, startHarness, waitFor, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/**
 * Prometheus text format 0.0.4: comments (# HELP / # TYPE), blank lines, and samples
 * `name{label="value",...} number [timestamp]`. Returns the samples; throws on any other line.
 */
function parsePrometheus(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    if (Number.isNaN(value) && m[4] !== 'NaN') throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

describe('daemon: health, readiness and metrics', () => {
  it('/readyz turns 503 naming the project when polling stalls, and 200 again when it resumes', async () => {
    h = await startHarness({ runs: [liveRun({ name: 'r1', state: 'running' })], wandbRetries: 0 });
    expect((await getJson(`${h.url}/healthz`)).status).toBe(200);
    await waitFor(async () => (await getJson(`${h!.url}/readyz`)).status === 200, { what: 'ready' });
    const ready = await getJson(`${h.url}/readyz`);
    expect(ready.body).toMatchObject({
      status: 'ready',
      failed: [],
      checks: { redis: { ok: true }, database: { ok: true }, [`poll ${E}/${P}`]: { ok: true } },
    });

    // W&B answers 503 to everything: polls fail, the last successful one ages past 3 intervals.
    h.emu.setFaults({ probability: 1, kinds: [{ kind: 'httpError', status: 503 }] });
    await waitFor(async () => (await getJson(`${h!.url}/readyz`)).status === 503, { what: '503' });
    const stalled = await getJson(`${h.url}/readyz`);
    expect(stalled.body['status']).toBe('not ready');
    expect(stalled.body['failed']).toEqual([`poll ${E}/${P}`]);
    expect(JSON.stringify(stalled.body['checks'])).toMatch(/last successful poll .* ago/);
    expect((await getJson(`${h.url}/healthz`)).status).toBe(200);

    h.emu.setFaults(undefined);
    await waitFor(async () => (await getJson(`${h!.url}/readyz`)).status === 200, { what: 'ready again' });
  });

  it('/metrics is Prometheus text with sync, poll, queue and W&B series', async () => {
    h = await startHarness({
      runs: [liveRun({ name: 'm1', state: 'finished' }), liveRun({ name: 'm2', state: 'running' })],
    });
    await waitFor(async () => (await h!.rows('SELECT count(*) AS n FROM training_runs'))[0]!['n'] === 2, {
      what: 'sync',
    });
    h.emu.setFaults({ script: [{ kind: 'rateLimit', retryAfterSeconds: 0 }] });
    await h.polls(2);
    const res = await fetch(`${h.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(await res.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    expect(value('traindb_runs_synced_total', { project: `${E}/${P}`, result: 'inserted' })).toBe(2);
    expect(value('traindb_status_transitions_total', { to: 'running' })).toBe(1);
    expect(value('traindb_poll_duration_seconds_count', { kind: 'poll' })).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'traindb_poll_lag_seconds' && s.labels['project'] === `${E}/${P}`)).toBe(
      true,
    );
    expect(samples.some((s) => s.name === 'traindb_watermark_lag_seconds')).toBe(true);
    expect(
      samples.some(
        (s) => s.name === 'traindb_queue_jobs' && s.labels['queue'] === 'sync' && s.labels['state'] === 'wait',
      ),
    ).toBe(true);
    expect(value('traindb_wandb_requests_total', { status: '200' })).toBeGreaterThan(0);
    expect(value('traindb_wandb_requests_total', { status: '429' })).toBe(1);
    expect(value('traindb_wandb_rate_limited_total')).toBe(1);
    expect(value('traindb_wandb_retries_total')).toBeGreaterThanOrEqual(1);
  });

  it('never serves or logs the W&B API key, even when W&B rejects it', async () => {
    h = await startHarness({ runs: [liveRun({ name: 'k1', state: 'finished' })] });
    await waitFor(async () => (await h!.rows('SELECT count(*) AS n FROM training_runs'))[0]!['n'] === 1, {
      what: 'sync',
    });
    h.emu.setFaults({ probability: 1, kinds: [{ kind: 'graphqlError', message: `invalid key ${API_KEY}` }] });
    await h.polls(0);
    await waitFor(() => h!.logs.some((l) => l.includes('"job failed"')), { what: 'a failed poll logged' });
    h.emu.setFaults(undefined);
    const bodies = await Promise.all(
      ['/healthz', '/readyz', '/metrics', '/runs?columns=*', `/compare?by=status&metric=duration_seconds`, '/nope'].map(
        async (p) => (await getJson(`${h!.url}${p}`)).text,
      ),
    );
    expect(bodies.join('\n')).not.toContain(API_KEY);
    expect(h.logs.length).toBeGreaterThan(0);
    expect(h.logs.join('\n')).not.toContain(API_KEY);
    // The W&B client already masks it; the logger's scrubber would catch it otherwise.
    expect(h.logs.join('\n')).toMatch(/invalid key (\*\*\*|\[redacted\])/);
  });
});
