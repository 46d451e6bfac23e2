/**
 * The layers, lowest first; each may import only from layers below it:
 *   audit (src/audit) ← engine (src/engine) ← stores (src/stores, exporters)
 *   ← instrumentations ← applications (src/register, src/cli)
 * The package entry points (src/*.ts) sit on top and may import from all.
 * A folder's loose files are a layer of their own: a file never imports a loose
 * file of a folder above it, so a folder and its subfolders never form a circle.
 */
const APPS = '^src/(register|cli)/';
const ENTRIES = '^src/[^/]+\\.ts$';
const STORES = '^(src/stores|exporters)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'audit-imports-only-audit',
      comment: 'The wire format, signing and verification know nothing of policies, stores or providers.',
      severity: 'error',
      from: { path: '^src/audit/' },
      to: { path: '^(src|exporters|instrumentations|fake-provider)/', pathNot: '^src/audit/' },
    },
    {
      name: 'engine-above-audit-only',
      comment: 'The engine decides calls; it knows no durable store, provider SDK or application.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: [STORES, '^instrumentations/', APPS, ENTRIES, '^fake-provider/'] },
    },
    {
      name: 'stores-below-instrumentations',
      severity: 'error',
      from: { path: STORES },
      to: { path: ['^instrumentations/', APPS, ENTRIES, '^fake-provider/'] },
    },
    {
      name: 'instrumentations-below-applications',
      severity: 'error',
      from: { path: '^instrumentations/' },
      to: { path: [APPS, ENTRIES, '^fake-provider/'] },
    },
    {
      name: 'providers-share-only-common',
      comment: 'One provider folder never reaches into another; what they share lives in instrumentations/common.',
      severity: 'error',
      from: { path: '^instrumentations/([^/]+)/' },
      to: { path: '^instrumentations/', pathNot: ['^instrumentations/$1/', '^instrumentations/common/'] },
    },
    {
      name: 'applications-not-through-entries',
      comment: 'Applications import the modules they use, not the public entry points.',
      severity: 'error',
      from: { path: APPS },
      to: { path: ENTRIES },
    },
    {
      name: 'no-import-of-parent-loose-files',
      comment: "A folder's loose files are the layer above its subfolders.",
      severity: 'error',
      from: { path: '^(.+)/[^/]+/[^/]+$' },
      to: { path: '^$1/[^/]+$', pathNot: '\\.json$' },
    },
    {
      name: 'fake-provider-stands-alone',
      comment: 'The loopback fake is a test double: it imports nothing of the package.',
      severity: 'error',
      from: { path: '^fake-provider/' },
      to: { path: '^(src|exporters|instrumentations)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules', '^dist', '^test', '^bench', '^examples', '^scripts'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
