/**
 * `agentguard-spend/register`: zero-code enablement.
 *
 * ```sh
 * node --require agentguard-spend/register app.js    # CommonJS
 * node --import agentguard-spend/register app.mjs    # ESM
 * ```
 *
 * Loading this module reads and validates `AGENTGUARD_*` from the environment
 * and installs module hooks that patch `openai`, `@anthropic-ai/sdk` and
 * `@aws-sdk/client-bedrock-runtime` as the app loads them (CommonJS and ESM).
 * The engine, with its signed file decision log, starts at the first guarded
 * call or shortly after start-up. Bad configuration stops the process with one line on stderr naming the
 * variable and exit code 78, unless `AGENTGUARD_FAIL_OPEN=true` or
 * `AGENTGUARD_MODE=shadow` (then: a warning, and the app runs unguarded).
 *
 * The log is flushed and closed on `beforeExit`, SIGTERM and SIGINT, and
 * written synchronously on `exit` (after `process.exit()`). When the
 * app has no handler of its own for the signal, the signal's default action
 * (exit) follows the flush; when it has one, the app decides when to exit.
 * @packageDocumentation
 */
import * as workerThreads from 'node:worker_threads';
import { setupFromEnv, startupFailure, EXIT_CONFIG, type Registration } from './setup.js';

export type { Registration } from './setup.js';
export { EXIT_CONFIG } from './setup.js';

const STATE = Symbol.for('agentguard-spend.register');
/** Longest a signal waits for the log to flush before the process exits anyway. */
const SIGNAL_FLUSH_TIMEOUT_MS = 5_000;

type Global = typeof globalThis & { [STATE]?: { registration: Registration | null } };

function start(): Registration | null {
  let registration: Registration;
  try {
    registration = setupFromEnv(process.env);
  } catch (err) {
    const failure = startupFailure(err, process.env);
    process.stderr.write(`${failure.line}\n`);
    if (failure.action === 'exit') process.exit(EXIT_CONFIG);
    return null;
  }
  installExitHooks(registration);
  return registration;
}

function installExitHooks(registration: Registration): void {
  // The event loop emptied: the app is done. Close once (closing adds work, so this fires again).
  process.once('beforeExit', () => void registration.shutdown());
  // process.exit() skips beforeExit and runs nothing asynchronous: what the guard still holds
  // (batch durability) is signed here and written synchronously.
  process.once('exit', () => {
    if (!registration.engineStarted) return;
    try {
      registration.guard.flushSync();
    } catch {
      // Exiting: nothing left to report to.
    }
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = () => {
      if (!registration.engineStarted) {
        // Nothing was logged: nothing to flush. The signal does what it would have done.
        if (process.listenerCount(signal) > 1) return;
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
        return;
      }
      if (process.listenerCount(signal) > 1) {
        // The app handles this signal itself: make what is logged so far durable, let it exit.
        void registration.guard.flush().catch(() => undefined);
        return;
      }
      process.removeListener(signal, onSignal);
      const timer = setTimeout(() => process.kill(process.pid, signal), SIGNAL_FLUSH_TIMEOUT_MS);
      void registration.shutdown().finally(() => {
        clearTimeout(timer);
        // Re-raise with no listener left: the default action ends the process as the signal would have.
        process.kill(process.pid, signal);
      });
    };
    process.on(signal, onSignal);
  }
}

/**
 * Node runs `--require`/`--import` preloads again in its internal module-hooks
 * thread: nothing is guarded there, so nothing is set up (no second chain).
 * A user's worker thread is set up like the main thread (its own chain). On a
 * Node without `isInternalThread` (before 22.14), only the main thread is.
 */
function isHooksThread(): boolean {
  const internal = (workerThreads as { isInternalThread?: boolean }).isInternalThread;
  return internal === undefined ? !workerThreads.isMainThread : internal;
}

const g = globalThis as Global;
// Loaded twice (e.g. both --require and --import, or the CommonJS and ESM builds): set up once.
if (!isHooksThread()) g[STATE] ??= { registration: start() };

/**
 * What register set up in this process, or null when it runs unguarded
 * (bad configuration with `AGENTGUARD_FAIL_OPEN=true` or `AGENTGUARD_MODE=shadow`).
 * Apps that call `process.exit()` themselves can `await registration?.shutdown()` first.
 */
export const registration: Registration | null = g[STATE]?.registration ?? null;
