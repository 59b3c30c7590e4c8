import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { normalizeRun } from '../../src/core/normalize/run.js';

// Real config.yaml / wandb-summary.json files written by the W&B SDK (copied from wandb/wandb test assets).
const root = join(import.meta.dirname, '../fixtures/wandb-examples');

function exampleNode(dir: string) {
  const config = parseYaml(readFileSync(join(root, dir, 'files/config.yaml'), 'utf8')) as Record<string, unknown>;
  const summary = readFileSync(join(root, dir, 'files/wandb-summary.json'), 'utf8');
  return {
    name: dir.split('-').pop()!,
    state: 'finished',
    createdAt: '2023-07-14T09:06:00',
    project: { name: 'examples', entityName: 'wandb' },
    config: JSON.stringify(config),
    summaryMetrics: summary,
  };
}

describe('runs written by the real W&B SDK', () => {
  const dirs = readdirSync(root);

  it.each(dirs)('%s normalizes with internals set aside', (dir) => {
    const n = normalizeRun(exampleNode(dir));
    const config = JSON.parse(n.run.config_json as string);
    expect(config).not.toHaveProperty('_wandb');
    expect(config).not.toHaveProperty('wandb_version');
    expect(JSON.parse(n.run.wandb_internal_json as string)).toHaveProperty('_wandb.cli_version');
    expect(JSON.parse(n.run.final_metrics_json as string)).toBeTypeOf('object');
  });

  it('unwraps the legacy {desc, value} config form', () => {
    const n = normalizeRun(exampleNode('legacy-offline-run-2023-pmdnt7a3'));
    expect(JSON.parse(n.run.config_json as string)).toEqual({ epochs: 50, heavy: true, sleep_every: 15 });
  });

  it('keeps 50 histograms opaque and indexes the scalar summary values', () => {
    const n = normalizeRun(exampleNode('legacy-offline-run-2023-pmdnt7a3'));
    const summary = JSON.parse(n.run.final_metrics_json as string) as Record<string, { _type?: string }>;
    const histograms = Object.values(summary).filter((v) => v && v._type === 'histogram');
    expect(histograms.length).toBe(50);
    expect(n.attributes.some((a) => a.path.startsWith('hist_'))).toBe(false);
    expect(n.attributes.find((a) => a.path === 'loss')?.value).toBeCloseTo(0.0379469, 6);
  });

  it('extracts _step and _runtime', () => {
    const n = normalizeRun(exampleNode('legacy-run-2023-3vm9xzxt'));
    expect(n.run.total_training_steps).toBe(25);
    expect(n.run.duration_seconds).toBe(71);
    expect(n.attributes).toContainEqual({ source: 'summary', path: '_wandb.runtime', value: 50 });
  });
});
