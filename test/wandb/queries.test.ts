import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ALL_QUERIES } from '../../src/wandb/queries.js';

const schema = buildSchema(readFileSync(new URL('../../src/wandb/schema.graphql', import.meta.url), 'utf8'));

describe('W&B queries', () => {
  it.each(Object.entries(ALL_QUERIES))('%s validates against src/wandb/schema.graphql', (_name, query) => {
    expect(validate(schema, parse(query)).map((e) => e.message)).toEqual([]);
  });

  it('asks for the heavy fields inside the page query', () => {
    for (const field of ['config', 'summaryMetrics', 'systemMetrics', 'historyLineCount', 'heartbeatAt', 'username']) {
      expect(ALL_QUERIES.LIST_RUNS_QUERY).toMatch(new RegExp(`\\b${field}\\b`));
    }
  });
});
