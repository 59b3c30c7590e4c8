#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run by `prepare`, so `npm ci` builds it).
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('traindb is not built yet: run `npm run build` (or `npm ci`, which builds it) first.');
    process.exit(2);
  }
  throw error;
});
