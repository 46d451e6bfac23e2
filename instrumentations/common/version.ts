// Generated from package.json by scripts/write-version.mjs (run by `npm run build`). Do not edit.
/** This package's version: the version of every instrumentation scope it creates. */
export const PACKAGE_VERSION = '0.1.0';
