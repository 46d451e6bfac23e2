import { copyFileSync, readFileSync } from 'node:fs';
import { build, type Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/** Library entry points (each a subpath export in package.json), built with types. */
const libraryEntries = {
  index: 'src/index.ts',
  audit: 'src/audit.ts',
  stores: 'src/stores.ts',
  'instrumentations/openai/index': 'instrumentations/openai/index.ts',
  'instrumentations/anthropic/index': 'instrumentations/anthropic/index.ts',
  'instrumentations/bedrock/index': 'instrumentations/bedrock/index.ts',
  // `agentguard-spend/instrumentations/ai-sdk`: the Vercel AI SDK middleware and load-time patch.
  'instrumentations/ai-sdk/index': 'instrumentations/ai-sdk/index.ts',
};

/**
 * `agentguard-spend/register`: types only from tsup; its code is the preloads
 * (src/register/preload/, copied in after the build) and the bundles of {@link buildRegister}.
 */
const registerTypes = { 'register-main': 'src/register/index.ts' };

/**
 * What the repository's examples, benchmarks and test-vector script load from
 * the build; not exported and not shipped (package.json "files" leaves out dist/internal).
 */
const repositoryEntries = {
  'internal/fake-provider': 'fake-provider/index.ts',
  'internal/audit': 'scripts/internals.ts',
  'internal/ai-sdk': 'instrumentations/ai-sdk/internals.ts',
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
  dts: { entry: { ...libraryEntries, ...registerTypes } },
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
  // Shared chunks: every entry (core, stores, audit, instrumentations) uses one copy of the
  // engine. register's bundles carry their own; its errors still pass `instanceof` with the
  // classes of these entries through their brand (src/audit/errors.ts).
  splitting: true,
  shims: true,
  // Class names are what errors are recognised by across copies of the package (src/audit/errors.ts).
  keepNames: true,
  noExternal: ['canonicalize', '@noble/ed25519', '@noble/hashes'],
  async onSuccess() {
    copyFileSync('src/register/preload/register.mjs', 'dist/register.js');
    copyFileSync('src/register/preload/register.cjs', 'dist/register.cjs');
    copyFileSync('src/register/preload/register-main.mjs', 'dist/register-main.js');
    await buildRegister();
  },
});

/**
 * `node --require/--import agentguard-spend/register` loads the tiny preload
 * (src/register/preload/, copied above), which loads `register-main.cjs`
 * (configuration, validation, module hooks); the engine is `register-engine.cjs`,
 * loaded at the first guarded call or on a timer. Each is one CommonJS file,
 * so start-up resolves and compiles one module instead of a graph of chunks.
 * `@opentelemetry/api` and `@opentelemetry/context-async-hooks` are two more
 * files, `register-otel-api.cjs` and `register-otel-context.cjs`, that both
 * stages share: the API is the installed one, or the bundled copy when the
 * installed one is its version (src/register/otel/api.cjs). Packages loaded on
 * first use stay external.
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
  const cjs = {
    ...common,
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    define: { 'import.meta.url': '__agentguardModuleUrl' },
    banner: { js: "const __agentguardModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  } as const;
  await build({ ...cjs, entryPoints: { 'register-main': 'src/register/index.ts', 'register-engine': 'src/register/engine.ts' }, plugins: [sharedOtel] });
  await build({
    ...cjs,
    entryPoints: { 'register-otel-api': 'src/register/otel/api.cjs' },
    define: { ...cjs.define, __AGENTGUARD_OTEL_API_VERSION__: JSON.stringify(otelApiVersion()) },
  });
  await build({ ...cjs, entryPoints: { 'register-otel-context': 'src/register/otel/context.cjs' }, plugins: [sharedOtel] });
  await build({ ...common, entryPoints: { 'register-hooks': 'src/register/esm-hooks.ts' }, outdir: 'dist', outExtension: { '.js': '.mjs' }, format: 'esm' });
}

/** The register bundles' `@opentelemetry/api` and context manager: the shared files next to them. */
const sharedOtel: Plugin = {
  name: 'agentguard-shared-otel',
  setup(b) {
    b.onResolve({ filter: /^@opentelemetry\/api$/ }, () => ({ path: './register-otel-api.cjs', external: true }));
    // Not from the file that bundles it.
    b.onResolve({ filter: /^@opentelemetry\/context-async-hooks$/ }, (args) =>
      args.importer.endsWith('context.cjs') ? undefined : { path: './register-otel-context.cjs', external: true },
    );
  },
};

/** The version of `@opentelemetry/api` bundled into `register-otel-api.cjs`. */
function otelApiVersion(): string {
  return (JSON.parse(readFileSync('node_modules/@opentelemetry/api/package.json', 'utf8')) as { version: string }).version;
}
