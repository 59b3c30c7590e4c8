import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: files run in parallel processes, each with its own database and queue prefix.
    pool: 'forks',
    // .ci/run reads the counts from this report to print its closing "N passed, N failed" line.
    reporters: process.env['VITEST_JSON_REPORT'] ? ['default', 'json'] : ['default'],
    outputFile: process.env['VITEST_JSON_REPORT'] ? { json: process.env['VITEST_JSON_REPORT'] } : {},
  },
});
