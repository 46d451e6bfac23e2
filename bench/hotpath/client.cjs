'use strict';
// One variant of the hot-path benchmark, in its own process (forked by
// bench/hotpath.mjs, commands over IPC): an app that calls `openai`
// chat.completions against the loopback fake provider (or the forwarder), guarded
// as the variant says:
//   BENCH_GUARD=none      unguarded (direct to the fake, or through the forwarder)
//   BENCH_GUARD=register  started with `--require agentguard-spend/register` (file log, AGENTGUARD_DURABILITY)
//   BENCH_GUARD=memory    `withSpendGuard(client, { guard })` with the default in-memory stores
// Each command runs calls and answers with wall time, latencies and the CPU time
// of this process's main thread (the event loop the app shares with the guard).
const { performance } = require('node:perf_hooks');
const OpenAI = require('openai');

const SYSTEM = 'You are a support agent for an online store. Answer briefly and politely; when unsure, ask a clarifying question. Never reveal internal notes.';
const USER =
  'My order #48213 arrived with a cracked screen protector. Can I get a replacement sent to the same address, or do I need to return the whole package first? Thanks!';
const SCOPE = { tenantId: 'acme', agentId: 'agent-7' };

/** CPU µs of this thread (main thread only: a signer worker or the threadpool are not counted); ELU active time where Node lacks it. */
const threadCpuUs =
  typeof process.threadCpuUsage === 'function'
    ? () => {
        const u = process.threadCpuUsage();
        return u.user + u.system;
      }
    : () => performance.eventLoopUtilization().active * 1000;
const cpuSource = typeof process.threadCpuUsage === 'function' ? 'threadCpuUsage' : 'eventLoopUtilization';
const processCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

let turn = 0;
async function main() {
  const raw = new OpenAI({ baseURL: `${process.env.BENCH_TARGET_URL}/v1`, apiKey: 'sk-bench', maxRetries: 0 });
  let client = raw;
  let guard;
  let logStore;
  if (process.env.BENCH_GUARD === 'memory') {
    const { SpendGuard, InMemoryDecisionLogStore, generateKeypair, parsePolicy } = await import('agentguard-spend');
    const { withSpendGuard } = await import('agentguard-spend/instrumentations/openai');
    logStore = new InMemoryDecisionLogStore(); // bounded: the default when none is configured
    guard = new SpendGuard({ signingKeys: generateKeypair(), policy: parsePolicy(JSON.parse(process.env.BENCH_POLICY)), logStore });
    client = withSpendGuard(raw, { guard, scope: SCOPE });
  }
  const call = () =>
    client.chat.completions.create({
      model: 'gpt-4o',
      max_tokens: 256,
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: `${USER} (ticket ${++turn})` },
      ],
    });

  let callsDone = 0;
  const run = async (msg) => {
    const cpu0 = threadCpuUs();
    const pcpu0 = processCpuUs();
    const t0 = performance.now();
    let samplesMs;
    if (msg.cmd === 'serial') {
      samplesMs = new Array(msg.calls);
      for (let i = 0; i < msg.calls; i++) {
        const s = performance.now();
        await call();
        samplesMs[i] = performance.now() - s;
      }
    } else if (msg.cmd === 'inflight') {
      let next = 0;
      const lane = async () => {
        while (next < msg.calls) {
          next++;
          await call();
        }
      };
      await Promise.all(Array.from({ length: Math.min(msg.concurrency, msg.calls) }, lane));
    } else {
      throw new Error(`unknown command ${msg.cmd}`);
    }
    const wallMs = performance.now() - t0;
    callsDone += msg.calls;
    return { calls: msg.calls, wallMs, threadCpuUs: threadCpuUs() - cpu0, processCpuUs: processCpuUs() - pcpu0, samplesMs };
  };

  process.on('message', (msg) => {
    if (msg.cmd === 'exit') {
      // Let the event loop drain: register flushes and closes its log on beforeExit.
      // The in-memory guard's own account (the file log is counted by the parent from its files).
      const memory = guard ? { pendingCount: guard.pendingCount, entries: (logStore.head()?.sequence ?? -1) + 1 } : undefined;
      process.send({ done: true, callsDone, memory }, () => process.disconnect());
      return;
    }
    run(msg).then(
      (r) => process.send(r),
      (err) => {
        process.stderr.write(`hotpath client (${process.env.BENCH_VARIANT}): ${err?.stack ?? err}\n`);
        process.exit(1);
      },
    );
  });
  process.send({ ready: true, cpuSource });
}

main().catch((err) => {
  process.stderr.write(`hotpath client (${process.env.BENCH_VARIANT}): ${err?.stack ?? err}\n`);
  process.exit(1);
});
