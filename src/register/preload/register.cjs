'use strict';
// `node --require agentguard-spend/register`. Copied to dist/register.cjs as is.
//
// Node also runs preloads in its internal module-hooks thread, which it starts
// (and waits for) when the ESM import hook is registered. Nothing is guarded
// there, so that thread stops here, before the engine bundle is loaded: loading
// it there held up the app's start-up by ~150 ms.
const workerThreads = require('node:worker_threads');

const internal = workerThreads.isInternalThread;
const hooksThread = internal === undefined ? !workerThreads.isMainThread : internal;
module.exports = hooksThread ? { registration: null, EXIT_CONFIG: 78 } : require('./register-main.cjs');
