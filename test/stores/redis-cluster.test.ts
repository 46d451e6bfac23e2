import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSpendStore, TENANT_HASH_TAG } from '../../src/stores.js';
import { hasRedisServerBinary, startRedisServer } from '../helpers/redis-server.js';

// A one-node Redis Cluster owning all 16384 slots: it enforces the same-slot
// rule for a script's keys (CROSSSLOT) exactly as a real multi-node cluster does.
const available = hasRedisServerBinary();

describe.skipIf(!available)('RedisSpendStore on Redis Cluster (hash tags)', () => {
  let server: Awaited<ReturnType<typeof startRedisServer>>;
  let cluster: Cluster;

  beforeAll(async () => {
    server = await startRedisServer(['--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1', '--cluster-config-file', `nodes-${randomUUID()}.conf`]);
    const node = new Redis(server.url);
    await node.call('CLUSTER', 'ADDSLOTS', ...Array.from({ length: 16_384 }, (_, i) => String(i)));
    for (let i = 0; !((await node.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok'); i++) {
      if (i > 400) throw new Error('single-node cluster did not reach cluster_state:ok');
      await new Promise((r) => setTimeout(r, 25));
    }
    await node.quit();
    cluster = new Cluster([{ host: '127.0.0.1', port: server.port }]);
  });
  afterAll(async () => {
    await cluster?.quit();
    await server?.stop();
  });

  const nowMs = Date.now();
  const hold = (key: string) => ({ key, limitCents: 100, expiresAtMs: nowMs + 60_000 });
  const keys = ['pol:0|tenantId=acme|per_day@2026-11-25', 'pol:1|tenantId=acme|per_month@2026-11', 'other:0|tenantId=acme,userId=u|per_hour@2026-11-25T15'];

  it('the server really refuses a script whose keys span slots', async () => {
    await expect(cluster.eval('return 1', 2, 'a', 'b')).rejects.toThrow(/CROSSSLOT/);
  });

  it('reserves, reads and settles across windows and tenants with the default tag and TENANT_HASH_TAG', async () => {
    for (const hashTag of [undefined, TENANT_HASH_TAG] as const) {
      const s = new RedisSpendStore({ client: cluster, prefix: `agtest:${randomUUID()}:`, ...(hashTag ? { hashTag } : {}) });
      expect(await s.reserve({ reservationId: 'r1', cents: 40, holds: keys.map(hold), nowMs, ttlMs: 1_000 })).toEqual({ ok: true, before: [0, 0, 0] });
      expect(await s.reserve({ reservationId: 'r2', cents: 70, holds: keys.map(hold), nowMs, ttlMs: 1_000 })).toEqual({
        ok: false,
        before: [40, 40, 40],
        exceeded: [0, 1, 2],
      });
      await s.reserve({ reservationId: 'r3', cents: 9, holds: [hold('p:0|tenantId=beta|per_day@2026-11-25')], nowMs, ttlMs: 1_000 });
      expect(await s.read([...keys, 'p:0|tenantId=beta|per_day@2026-11-25'], nowMs)).toEqual([40, 40, 40, 9]);
      expect(await s.settle({ reservationId: 'r1', holds: keys.map(hold), actualCents: 15, nowMs })).toEqual({ after: [15, 15, 15] });
      // Expired reservations are swept inside the scripts in cluster mode too.
      expect(await s.read(['p:0|tenantId=beta|per_day@2026-11-25'], nowMs + 1_000)).toEqual([0]);
      await s.close();
    }
  });
});
