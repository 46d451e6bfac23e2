// Child processes for the SDK and proxy benchmarks: the fake provider and the
// forwarding proxy each run in their own process (as a real provider endpoint
// and a real proxy would), so their CPU time is not charged to the client's
// event loop.
//   node bench/servers.mjs fake            -> prints the fake provider's URL
//   node bench/servers.mjs proxy <target>  -> prints the proxy's URL
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

/** Starts `kind` in a child process; resolves `{ url, close }` once it listens. */
export function startServerProcess(kind, ...args) {
  const child = spawn(process.execPath, [self, kind, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code}) before listening`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^(http:\/\/\S+)\n/.exec(out);
      if (m) {
        child.removeAllListeners('exit');
        resolve({
          url: m[1],
          pid: child.pid,
          close: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

if (process.argv[1] === self) {
  const [kind, target] = process.argv.slice(2);
  let url;
  if (kind === 'fake') {
    const { FakeProvider, openaiRoutes, anthropicRoutes, bedrockRoutes } = await import('../dist/internal/fake-provider.js');
    const fake = new FakeProvider([...openaiRoutes, ...anthropicRoutes, ...bedrockRoutes]);
    url = await fake.listen();
    // The fake records every request for tests; keep a benchmark's memory flat.
    setInterval(() => fake.reset(), 1000).unref();
  } else if (kind === 'proxy') {
    const { startForwardingProxy } = await import('./proxy.mjs');
    url = (await startForwardingProxy(target)).url;
  } else {
    throw new Error(`unknown server kind ${kind}`);
  }
  process.stdout.write(`${url}\n`);
  process.on('SIGTERM', () => process.exit(0));
}
