// `node --import agentguard-spend/register`. Copied to dist/register.js as is.
//
// Node also runs preloads in its internal module-hooks thread, which it starts
// (and waits for) when the ESM import hook is registered. Nothing is guarded
// there, so that thread stops here, before the engine bundle is loaded: loading
// it there held up the app's start-up by ~150 ms.
import * as workerThreads from 'node:worker_threads';

const internal = workerThreads.isInternalThread;
const hooksThread = internal === undefined ? !workerThreads.isMainThread : internal;
const main = hooksThread ? null : await import('./register-main.js');

/** What register set up in this process (see `register-main`), or null. */
export const registration = main ? main.registration : null;
export const EXIT_CONFIG = 78;
