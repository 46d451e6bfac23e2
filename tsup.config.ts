import { copyFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

/** Library entry points (each a subpath export in package.json), built with types. */
const libraryEntries = {
  index: 'src/index.ts',
  // `agentguard-spend/exporters`: decision-log exporters (file JSONL store, reader, verifier).
  exporters: 'exporters/index.ts',
  'instrumentations/openai/index': 'instrumentations/openai/index.ts',
  'instrumentations/anthropic/index': 'instrumentations/anthropic/index.ts',
  'instrumentations/bedrock/index': 'instrumentations/bedrock/index.ts',
  // `agentguard-spend/instrumentations/ai-sdk`: the Vercel AI SDK middleware and load-time patch.
  'instrumentations/ai-sdk/index': 'instrumentations/ai-sdk/index.ts',
  // The engine side of `node --require/--import agentguard-spend/register`; the
  // `register` entry itself is a tiny preload (src/register/preload/) copied in after the build.
  'register-main': 'src/register/index.ts',
  // `agentguard-spend/fake-provider`: the loopback fake the demo, examples and tests use.
  'fake-provider': 'fake-provider/index.ts',
};

// One build, two module formats: ESM (`.js`) for `import`, CommonJS (`.cjs`) for
// `require` and `--require`. `canonicalize` and `@noble/*` ship ESM only, so they
// are bundled in to keep the CommonJS entries free of require(esm).
export default defineConfig({
  entry: {
    ...libraryEntries,
    // The `agentguard-spend` bin; its `#!/usr/bin/env node` line is kept by esbuild.
    cli: 'src/cli/main.ts',
  },
  format: ['esm', 'cjs'],
  dts: { entry: libraryEntries },
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
  // Shared chunks: every entry (core, instrumentations, register) uses one copy of
  // the engine, so classes like AgentGuardBlockedError keep `instanceof` across entries.
  splitting: true,
  shims: true,
  noExternal: ['canonicalize', '@noble/ed25519', '@noble/hashes'],
  async onSuccess() {
    copyFileSync('src/register/preload/register.mjs', 'dist/register.js');
    copyFileSync('src/register/preload/register.cjs', 'dist/register.cjs');
  },
});
