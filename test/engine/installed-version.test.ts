import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { installedPackageVersion } from '../../src/engine/installed-version.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A package `name@version` installed in `<dir>/<at>/node_modules`. */
function install(at: string, name: string, version: string, main = 'index.js'): void {
  const pkg = join(dir!, at, 'node_modules', name);
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version, main }));
  writeFileSync(join(pkg, main), 'module.exports = {};');
}

describe('installedPackageVersion: the version require() would load', () => {
  it('is the nearest node_modules copy up from the module, as Node resolves it', () => {
    dir = mkdtempSync(join(tmpdir(), 'agentguard-installed-'));
    install('', '@scope/pkg', '1.0.0');
    install('app', '@scope/pkg', '2.0.0');
    mkdirSync(join(dir, 'app/lib/deep'), { recursive: true });
    const from = (p: string) => pathToFileURL(join(dir!, p, 'module.js')).href;
    expect(installedPackageVersion('@scope/pkg', from('app/lib/deep'))).toBe('2.0.0');
    expect(installedPackageVersion('@scope/pkg', from('other'))).toBe('1.0.0');
    expect(installedPackageVersion('@scope/missing', from('app'))).toBeUndefined();
  });

  it('is the installed version of a real dependency', () => {
    expect(installedPackageVersion('@opentelemetry/api', import.meta.url)).toMatch(/^1\.\d+\.\d+/);
  });
});
