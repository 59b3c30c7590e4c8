/**
 * Loads src/wandb/schema.graphql, the contract every incoming query is validated against. The build
 * (tsc) does not copy .graphql files into dist/, so the file is looked up next to the sources first and
 * then in `<ancestor>/src/wandb/` of the running module: that works from src/ under vitest, from dist/
 * after `npm run build`, and from an installed package (package.json ships src/wandb/schema.graphql).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from 'graphql';
import type { GraphQLSchema } from 'graphql';

export function findSchemaFile(): string {
  const beside = fileURLToPath(new URL('../../wandb/schema.graphql', import.meta.url));
  if (existsSync(beside)) return beside;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'src', 'wandb', 'schema.graphql');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `W&B schema not found: looked for ${beside} and src/wandb/schema.graphql above ${fileURLToPath(import.meta.url)}`,
  );
}

const cache = new Map<string, GraphQLSchema>();

/** The parsed schema (cached per file; building it takes a few milliseconds). */
export function loadWandbSchema(path: string = findSchemaFile()): GraphQLSchema {
  let schema = cache.get(path);
  if (!schema) {
    schema = buildSchema(readFileSync(path, 'utf8'));
    cache.set(path, schema);
  }
  return schema;
}
