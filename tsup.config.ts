import { defineConfig } from 'tsup';

// One build, two module formats: ESM (`.js`) for `import`, CommonJS (`.cjs`) for
// `require` and `--require`. `canonicalize` ships ESM only, so it is bundled in
// to keep the CommonJS entry free of require(esm).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'instrumentations/anthropic': 'instrumentations/anthropic/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
  splitting: false,
  shims: true,
  noExternal: ['canonicalize', '@noble/ed25519', '@noble/hashes'],
});
