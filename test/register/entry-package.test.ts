import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { entryPackageOf } from '../../src/register/module-hooks.js';

// The ESM load hook of register reports a provider package's entry module: the
// file its `exports` maps `.` to (any condition) or its `main`; real package
// folders on disk.

const root = mkdtempSync(join(tmpdir(), 'agentguard-entry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function pkg(at: string, json: object): void {
  mkdirSync(join(root, at), { recursive: true });
  writeFileSync(join(root, at, 'package.json'), JSON.stringify(json));
}
const url = (p: string) => pathToFileURL(join(root, p)).href;

pkg('node_modules/openai', {
  exports: { '.': { require: { default: './index.js' }, default: './index.mjs' }, './resources/*': './resources/*' },
  main: './index.js',
});
pkg('node_modules/@ai-sdk/openai', { exports: { types: './dist/index.d.ts', import: './dist/index.js', default: './dist/index.js' } });
pkg('node_modules/ws', { main: 'index.js' });
pkg('node_modules/other/node_modules/openai', { exports: './main.mjs' });

describe('register ESM hook: which loaded module is a provider entry', () => {
  const packages = ['openai', '@ai-sdk/openai', 'ws', 'http'];
  it('is the file exports maps "." to, under any condition, or main', () => {
    expect(entryPackageOf(url('node_modules/openai/index.mjs'), packages)).toBe('openai');
    expect(entryPackageOf(url('node_modules/openai/index.js'), packages)).toBe('openai');
    expect(entryPackageOf(url('node_modules/@ai-sdk/openai/dist/index.js'), packages)).toBe('@ai-sdk/openai');
    expect(entryPackageOf(url('node_modules/ws/index.js'), packages)).toBe('ws');
    // A nested copy, with its own package.json; import-in-the-middle's `?iitm=true` copy.
    expect(entryPackageOf(url('node_modules/other/node_modules/openai/main.mjs'), packages)).toBe('openai');
    expect(entryPackageOf(`${url('node_modules/openai/index.mjs')}?iitm=true`, packages)).toBe('openai');
  });

  it('is not any other file of the package, nor a file of a package inside it, nor another package', () => {
    expect(entryPackageOf(url('node_modules/openai/resources/chat.mjs'), packages)).toBeUndefined();
    expect(entryPackageOf(url('node_modules/other/node_modules/openai/index.mjs'), packages)).toBeUndefined();
    expect(entryPackageOf(url('node_modules/openai/node_modules/dep/index.mjs'), packages)).toBeUndefined();
    expect(entryPackageOf(url('node_modules/other/index.mjs'), packages)).toBeUndefined();
    expect(entryPackageOf(url('app/index.mjs'), packages)).toBeUndefined();
    expect(entryPackageOf('node:http', packages)).toBeUndefined();
  });
});
