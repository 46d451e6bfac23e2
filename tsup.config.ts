import { copyFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

/** Library entry points (each a subpath export in package.json), built with types. */
const libraryEntries = {
  index: 'src/index.ts',
  audit: 'src/audit.ts',
  stores: 'src/stores.ts',
  'instrumentations/openai/index': 'instrumentations/openai/index.ts',
  'instrumentations/anthropic/index': 'instrumentations/anthropic/index.ts',
  'instrumentations/bedrock/index': 'instrumentations/bedrock/index.ts',
  // The engine side of `node --require/--import agentguard-spend/register`; the
  // `register` entry itself is a tiny preload (src/register/preload/) copied in after the build.
  'register-main': 'src/register/index.ts',
};

/**
 * What the repository's examples, benchmarks and test-vector script load from
 * the build; not exported and not shipped (package.json "files" leaves out dist/internal).
 */
const repositoryEntries = {
  'internal/fake-provider': 'fake-provider/index.ts',
  'internal/audit': 'scripts/internals.ts',
  'internal/estimate': 'scripts/estimate-internals.ts',
};

// One build, two module formats: ESM (`.js`) for `import`, CommonJS (`.cjs`) for
// `require` and `--require`. `canonicalize` and `@noble/*` ship ESM only, so they
// are bundled in to keep the CommonJS entries free of require(esm).
export default defineConfig({
  entry: {
    ...libraryEntries,
    ...repositoryEntries,
    // The `agentguard-spend` bin; its `#!/usr/bin/env node` line is kept by esbuild.
    cli: 'src/cli/main.ts',
  },
  format: ['esm', 'cjs'],
  dts: { entry: libraryEntries },
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
  // Shared chunks: every entry (core, stores, audit, instrumentations, register) uses one copy
  // of the engine, so classes like AgentGuardBlockedError keep `instanceof` across entries.
  splitting: true,
  shims: true,
  noExternal: ['canonicalize', '@noble/ed25519', '@noble/hashes'],
  async onSuccess() {
    copyFileSync('src/register/preload/register.mjs', 'dist/register.js');
    copyFileSync('src/register/preload/register.cjs', 'dist/register.cjs');
  },
});
