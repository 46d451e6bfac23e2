import { copyFileSync } from 'node:fs';
import { build } from 'esbuild';
import { defineConfig } from 'tsup';

/** Library entry points (each a subpath export in package.json), built with types. */
const libraryEntries = {
  index: 'src/index.ts',
  // `agentguard-spend/exporters`: decision-log exporters (file JSONL store, reader, verifier).
  exporters: 'exporters/index.ts',
  'instrumentations/openai/index': 'instrumentations/openai/index.ts',
  'instrumentations/anthropic/index': 'instrumentations/anthropic/index.ts',
  'instrumentations/bedrock/index': 'instrumentations/bedrock/index.ts',
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
  // `register-main` has types only: its code is the register bundles below.
  dts: { entry: { ...libraryEntries, 'register-main': 'src/register/index.ts' } },
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
    await buildRegister();
  },
});

/**
 * `node --require/--import agentguard-spend/register` loads the tiny preload
 * (src/register/preload/, copied above), which loads `register-start.cjs`
 * (configuration, validation, module hooks); the engine is `register-engine.cjs`,
 * loaded at the first guarded call or on a timer. Each is one CommonJS file,
 * so start-up resolves and compiles one module instead of a graph of chunks.
 * `@opentelemetry/api` stays external: the app's OpenTelemetry setup and ours
 * must meet in one API. Packages loaded on first use stay external too.
 */
async function buildRegister() {
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node22',
    sourcemap: true,
    // Smaller to parse at start-up (~15 % off loading the engine); names kept for
    // error classes (`error.name`) and stack traces, the source map for the rest.
    minify: true,
    keepNames: true,
    logLevel: 'warning',
    external: [
      '@opentelemetry/api',
      '@opentelemetry/context-async-hooks',
      '@opentelemetry/instrumentation',
      'ioredis',
      'yaml',
      'gpt-tokenizer',
      'gpt-tokenizer/*',
      '@pydantic/genai-prices',
      'openai',
      '@anthropic-ai/sdk',
      '@aws-sdk/*',
      '@smithy/*',
    ],
  } as const;
  await build({
    ...common,
    entryPoints: { 'register-start': 'src/register/index.ts', 'register-engine': 'src/register/engine.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    define: { 'import.meta.url': '__agentguardModuleUrl' },
    banner: { js: "const __agentguardModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  await build({ ...common, entryPoints: { 'register-hooks': 'src/register/esm-hooks.ts' }, outdir: 'dist', outExtension: { '.js': '.mjs' }, format: 'esm' });
}
