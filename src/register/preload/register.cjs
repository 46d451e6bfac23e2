'use strict';
// `node --require agentguard-spend/register`. Copied to dist/register.cjs as is.
//
// When something registers an ESM loader with `module.register`, Node runs the
// preloads again in its internal module-hooks thread. Nothing is guarded
// there, so that thread stops here, before the start-up bundle is loaded.
const workerThreads = require('node:worker_threads');

const internal = workerThreads.isInternalThread;
const hooksThread = internal === undefined ? !workerThreads.isMainThread : internal;
module.exports = hooksThread ? { registration: null, EXIT_CONFIG: 78 } : require('./register-main.cjs');
