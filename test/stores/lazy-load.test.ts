import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Consumers who never create a SQLite or Redis store must not pay for them:
// importing the package and its stores entry (built dist/, both formats) loads neither node:sqlite nor ioredis.
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('stores load lazily', () => {
  it.each([
    ['CommonJS require', `require('./dist/index.cjs'); require('./dist/stores.cjs');`],
    ['ESM import', `await import('./dist/index.js'); await import('./dist/stores.js');`],
  ])('%s of the package loads neither node:sqlite nor ioredis', (_what, load) => {
    const script = `(async () => { ${load}
      const sqlite = process.moduleLoadList.some((m) => /\\bsqlite\\b/.test(m));
      const ioredis = Object.keys(require.cache).some((p) => p.includes('ioredis'));
      console.log(JSON.stringify({ sqlite, ioredis }));
    })()`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(JSON.parse(out)).toEqual({ sqlite: false, ioredis: false });
  });

  it('creating a SQLite store loads node:sqlite on demand', () => {
    const script = `const { SqliteSpendStore } = require('./dist/stores.cjs');
      new SqliteSpendStore(':memory:');
      console.log(process.moduleLoadList.some((m) => /\\bsqlite\\b/.test(m)));`;
    expect(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()).toBe('true');
  });
});
