// Writes instrumentations/common/version.ts from package.json's version, so the
// instrumentations' scope version has one source. Run by `npm run build`; the
// file is checked in so typecheck and tests work without a build.
import { readFileSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const target = new URL('../instrumentations/common/version.ts', import.meta.url);
const text = `// Generated from package.json by scripts/write-version.mjs (run by \`npm run build\`). Do not edit.\n/** This package's version: the version of every instrumentation scope it creates. */\nexport const PACKAGE_VERSION = '${version}';\n`;
let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {
  // First run.
}
if (current !== text) writeFileSync(target, text);
