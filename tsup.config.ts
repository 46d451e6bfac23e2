import { defineConfig } from 'tsup';

// One build, two module formats: ESM (`.js`) for `import`, CommonJS (`.cjs`) for
// `require` and `--require`. `canonicalize` ships ESM only, so it is bundled in
// to keep the CommonJS entry free of require(esm).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'instrumentations/bedrock/index': 'instrumentations/bedrock/index.ts',
    // `agentguard-spend/exporters`: decision-log exporters (file JSONL store, reader, verifier).
    exporters: 'exporters/index.ts',
    // The `agentguard-spend` bin; its `#!/usr/bin/env node` line is kept by esbuild.
    cli: 'src/cli/main.ts',
    // `node --require agentguard-spend/register` / `node --import agentguard-spend/register`.
    register: 'src/register/index.ts',
    // `agentguard-spend/fake-provider`: the loopback fake the demo, examples and tests use.
    'fake-provider': 'fake-provider/index.ts',
  },
  format: ['esm', 'cjs'],
  // Types for every library entry (the CLI has none).
  dts: { entry: { index: 'src/index.ts', exporters: 'exporters/index.ts', 'instrumentations/bedrock/index': 'instrumentations/bedrock/index.ts', register: 'src/register/index.ts', 'fake-provider': 'fake-provider/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
  // Shared chunks: every entry (core, instrumentations, register) uses one copy of
  // the engine, so classes like AgentGuardBlockedError keep `instanceof` across entries.
  splitting: true,
  shims: true,
  noExternal: ['canonicalize', '@noble/ed25519', '@noble/hashes'],
});
