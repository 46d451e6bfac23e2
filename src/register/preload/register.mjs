// `node --import agentguard-spend/register`. Copied to dist/register.js as is.
//
// When something registers an ESM loader with `module.register`, Node runs the
// preloads again in its internal module-hooks thread. Nothing is guarded
// there, so that thread stops here, before the start-up bundle is loaded.
// The start-up bundle is CommonJS: `--require` and `--import` share one copy.
import { createRequire } from 'node:module';
import * as workerThreads from 'node:worker_threads';

const internal = workerThreads.isInternalThread;
const hooksThread = internal === undefined ? !workerThreads.isMainThread : internal;
const main = hooksThread ? null : createRequire(import.meta.url)('./register-main.cjs');

/** What register set up in this process (see `Registration`), or null. */
export const registration = main ? main.registration : null;
export const EXIT_CONFIG = 78;
