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
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
// Bundled by the build (this file is never run from source).
const { installedPackageVersion } = require('../../engine/installed-version.ts');

// eslint-disable-next-line no-undef -- defined by the build (tsup.config.ts)
const bundledVersion = __AGENTGUARD_OTEL_API_VERSION__;
const installedVersion = installedPackageVersion('@opentelemetry/api', pathToFileURL(__filename).href);
module.exports = installedVersion === bundledVersion ? require('@opentelemetry/api') : createRequire(__filename)('@opentelemetry/api');
