// ESLint (flat config): JavaScript's and typescript-eslint's recommended rules, without type
// information so it stays fast enough for every `npm test`. Layering is checked by
// dependency-cruiser (`npm run lint:layers`), formatting by Prettier (`npm run format:check`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'bench/.ab/', '**/*.d.mts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // `_` names a value kept only for its position (a skipped tuple slot, an unused callback argument).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Patched SDK methods keep the caller's `this` as `self` for the closures that forward it.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      // A proxy or handler that refers to itself is declared first and assigned once.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `let found = false; try { found = … } catch { … }` states the fallback where the variable is declared.
      'no-useless-assignment': 'off',
      // Errors that replace a caught one name what failed in their message; the cause is not attached everywhere yet.
      'preserve-caught-error': 'off',
      // Log lines, file names and values are escaped for the terminal: matching control characters is the point.
      'no-control-regex': 'off',
    },
  },
  {
    // A script may bind a Node built-in (`const { performance } = require('node:perf_hooks')`);
    // in TypeScript, the compiler checks redeclarations (a value and a type may share a name).
    files: ['**/*.{js,mjs,cjs}'],
    rules: { 'no-redeclare': ['error', { builtinGlobals: false }] },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
