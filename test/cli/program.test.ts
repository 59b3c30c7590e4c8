import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_MODULES } from '../../src/cli/program.js';

describe('the command table', () => {
  it('names every command its modules define, so `traindb <command>` loads the right one', async () => {
    const program = await buildProgram();
    const defined = program.commands.map((c) => c.name()).sort();
    expect(defined).toEqual(COMMAND_MODULES.flatMap((m) => m.commands).sort());
  });

  it('loads only the module of the command being run', async () => {
    const program = await buildProgram('query');
    expect(program.commands.map((c) => c.name()).sort()).toEqual(['compare', 'query']);
  });
});
