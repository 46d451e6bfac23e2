#!/usr/bin/env node
// Runs each provider's tests against every SDK version its matrix.json lists
// (oldest and newest supported), then restores the locked versions.
// Usage: node scripts/sdk-matrix.mjs [provider ...]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const providersDir = join(root, 'test/instrumentations');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function installedVersion(pkg) {
  return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

// `companions`: packages that must move with it (matrix.json `with[version]`), e.g. the AI SDK's providers with `ai`.
function install(pkg, version, companions = {}) {
  const specs = [`${pkg}@${version}`, ...Object.entries(companions).map(([name, v]) => `${name}@${v}`)];
  execFileSync(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--legacy-peer-deps', ...specs], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

const results = [];
let failed = false;
for (const provider of readdirSync(providersDir).sort()) {
  const file = join(providersDir, provider, 'matrix.json');
  if (!existsSync(file) || (only.length && !only.includes(provider))) continue;
  const matrix = JSON.parse(readFileSync(file, 'utf8'));
  const tests = [matrix.tests ?? `test/instrumentations/${provider}`].flat();
  const locked = installedVersion(matrix.package);
  const companions = [...new Set(Object.values(matrix.with ?? {}).flatMap((c) => Object.keys(c)))];
  const lockedCompanions = Object.fromEntries(companions.map((name) => [name, installedVersion(name)]));
  // Each version is installed over the previous one; the locked one is restored after.
  try {
    for (const version of matrix.versions) {
      // The locked version already ran in `npm test`.
      if (version === locked && !process.env.SDK_MATRIX_ALL) {
        console.log(`sdk-matrix: ${matrix.package}@${version}: locked version, covered by npm test`);
        continue;
      }
      if (installedVersion(matrix.package) !== version) install(matrix.package, version, { ...lockedCompanions, ...matrix.with?.[version] });
      const actual = installedVersion(matrix.package);
      let ok = true;
      try {
        execFileSync(npm, ['exec', '--', 'vitest', 'run', ...tests], { cwd: root, stdio: 'inherit' });
      } catch {
        ok = false;
        failed = true;
      }
      results.push({ provider, package: matrix.package, version: actual, ok });
      console.log(`sdk-matrix: ${matrix.package}@${actual}: ${ok ? 'passed' : 'FAILED'}`);
    }
  } finally {
    if (installedVersion(matrix.package) !== locked || companions.some((name) => installedVersion(name) !== lockedCompanions[name]))
      install(matrix.package, locked, lockedCompanions);
  }
}
console.log(JSON.stringify({ sdkMatrix: results }, null, 2));
const passed = results.filter((r) => r.ok).length;
console.log(`sdk-matrix: ${passed} passed, ${results.length - passed} failed`);
process.exit(failed ? 1 : 0);
