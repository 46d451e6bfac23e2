'use strict';
// `@opentelemetry/api` as register's bundles use it (built to dist/register-otel-api.cjs).
//
// The API keeps its state in one global per major version, and refuses to register
// anything from a copy of another version than the one that registered first; so
// register uses the API that `require('@opentelemetry/api')` resolves from this
// package, as the app's OpenTelemetry setup does. When that installed copy is the
// version bundled here, the bundled copy is used instead: the same version meets
// the same globals, and it loads as part of one file instead of the ~50 files of
// the package (~15 ms of CPU on the first guarded call). Any other installed
// version is loaded and used as it is.
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');

const installed = createRequire(__filename);

/** The version of the API this package resolves, or undefined when it cannot be read. */
function installedVersion() {
  try {
    let dir = dirname(installed.resolve('@opentelemetry/api'));
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      let pkg;
      try {
        pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      if (pkg.name === '@opentelemetry/api') return pkg.version;
    }
  } catch {
    // Not installed: the require below reports it.
  }
  return undefined;
}

// eslint-disable-next-line no-undef -- defined by the build (tsup.config.ts)
const bundledVersion = __AGENTGUARD_OTEL_API_VERSION__;
module.exports = installedVersion() === bundledVersion ? require('@opentelemetry/api') : installed('@opentelemetry/api');
