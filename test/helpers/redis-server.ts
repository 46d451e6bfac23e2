import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Redis for the tests: `AGENTGUARD_TEST_REDIS_URL` (as `.ci/run` sets it) or a redis-server started here. */
export interface TestRedis {
  url: string;
  /** Stops the server if this helper started it. */
  stop(): Promise<void>;
}

const ENV = 'AGENTGUARD_TEST_REDIS_URL';

/**
 * Finds a Redis or explains loudly why there is none. Under `CI=true` a missing
 * or unreachable Redis throws (the Redis tests must fail, not skip); locally,
 * with no URL and no `redis-server` on PATH, it returns null so they skip.
 */
export async function testRedis(): Promise<TestRedis | null> {
  const fromEnv = process.env[ENV];
  if (fromEnv) {
    const u = new URL(fromEnv);
    if (!(await reachable(u.hostname, Number(u.port || 6379)))) throw new Error(`${ENV}=${fromEnv} but nothing answers there`);
    return { url: fromEnv, stop: async () => undefined };
  }
  if (spawnSync('redis-server', ['--version']).status === 0) return startRedisServer();
  const why = `no Redis: ${ENV} is not set and redis-server is not on PATH`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}; .ci/run must start one`);
  console.warn(`\n!!!!!!!! SKIPPING REDIS TESTS: ${why} (apt-get install redis-server) !!!!!!!!\n`);
  return null;
}

/**
 * Whether `redis-server` is on PATH (tests that start their own, e.g. a cluster).
 * Under `CI=true` its absence throws instead.
 */
export function hasRedisServerBinary(): boolean {
  if (spawnSync('redis-server', ['--version']).status === 0) return true;
  if (process.env.CI === 'true') throw new Error('CI=true and redis-server is not on PATH; .ci/run must install it');
  console.warn('\n!!!!!!!! SKIPPING REDIS CLUSTER TESTS: redis-server is not on PATH (apt-get install redis-server) !!!!!!!!\n');
  return false;
}

/** Starts a throwaway redis-server on a free 127.0.0.1 port (no persistence). */
export async function startRedisServer(extraArgs: string[] = []): Promise<TestRedis & { port: number; process: ChildProcess }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'agentguard-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  while (!(await reachable('127.0.0.1', port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}
