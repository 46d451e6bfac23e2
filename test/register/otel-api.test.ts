import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// dist/register-otel-api.cjs (src/register/otel/api.cjs): the `@opentelemetry/api` of
// register's bundles is the bundled copy only when the API installed beside it is the
// bundled version; any other installed version is the one used. Real files and a real
// child process: the built file is copied next to an installed API of a chosen version.

const root = join(import.meta.dirname, '..', '..');
const bundledVersion = (JSON.parse(readFileSync(join(root, 'node_modules/@opentelemetry/api/package.json'), 'utf8')) as { version: string }).version;
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** What the shim exports beside an installed API of `version` whose module says who it is. */
function apiBeside(version: string): { installed: boolean; hasContext: boolean; version: string | undefined } {
  dir = mkdtempSync(join(tmpdir(), 'agentguard-otel-api-'));
  copyFileSync(join(root, 'dist/register-otel-api.cjs'), join(dir, 'register-otel-api.cjs'));
  const pkg = join(dir, 'node_modules/@opentelemetry/api');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@opentelemetry/api', version, main: './dist/index.cjs' }));
  writeFileSync(join(pkg, 'dist/index.cjs'), `exports.installedCopy = true; exports.context = {};`);
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      `const api = require(${JSON.stringify(join(dir, 'register-otel-api.cjs'))});` +
        `process.stdout.write(JSON.stringify({ installed: api.installedCopy === true, hasContext: typeof api.context?.with === 'function', version: api.trace ? 'bundled' : undefined }))`,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as { installed: boolean; hasContext: boolean; version: string | undefined };
}

describe('register: the OpenTelemetry API of the bundles', () => {
  it('is the bundled copy when the installed API is the bundled version', () => {
    expect(apiBeside(bundledVersion)).toEqual({ installed: false, hasContext: true, version: 'bundled' });
  });

  it('is the installed copy when the installed API is another version', () => {
    expect(apiBeside('1.9.0')).toEqual({ installed: true, hasContext: false, version: undefined });
    expect(apiBeside(`${bundledVersion}-rc.1`)).toEqual({ installed: true, hasContext: false, version: undefined });
  });
});
