import { createHash } from 'node:crypto';

/**
 * Server-side scripts of the Redis store. Each runs atomically, so a reserve
 * across every window is one round trip and no other client sees a half.
 *
 * Keys of one hash tag `base = <prefix>{<tag>}`:
 * - `base:c:<counter key>`: hash `v` (cents), `e` (window end, ms). PEXPIRE'd
 *   to the window's remaining length (as the caller's clock sees it) plus a
 *   grace, so ended windows vanish on the server even if nobody reads them.
 * - `base:res`: hash reservation id → JSON `{c: cents, k: [counter keys]}`.
 * - `base:rdl`: sorted set of reservation ids by deadline (ms). Every script
 *   first sweeps the ids past their deadline and gives their cents back, so a
 *   client that died between reserve and settle cannot leak budget.
 *
 * Time is the caller's `nowMs` (an injected clock works; the server clock only
 * bounds garbage collection). Integers travel as decimal strings.
 *
 * - `base:epoch`: a random marker set when the store first uses the tag. Every
 *   script checks it against the value the client learnt (last ARGV) and
 *   refuses with `AGENTGUARD_EPOCH <found|none>` when it vanished or changed:
 *   the server lost the tag's counters (restart without persistence, flush,
 *   eviction), and the client must not go on as if they were intact.
 *
 * KEYS: [base:rdl, base:res, base:c:<key 1>, …, base:epoch]; ARGV[1] = base,
 * ARGV[2] = nowMs, last ARGV = the epoch the client knows.
 */
const PRELUDE = `
local base = ARGV[1]
local now = tonumber(ARGV[2])
local zkey = KEYS[1]
local hkey = KEYS[2]
local cprefix = base .. ':c:'
local ncounters = #KEYS - 3

local epoch = redis.call('GET', KEYS[#KEYS])
if epoch ~= ARGV[#ARGV] then return redis.error_reply('AGENTGUARD_EPOCH ' .. (epoch or 'none')) end

local function s(n) return string.format('%d', n) end

local function value(k)
  local v = redis.call('HMGET', k, 'v', 'e')
  if not v[1] then return 0 end
  if tonumber(v[2]) <= now then
    redis.call('DEL', k)
    return 0
  end
  return tonumber(v[1])
end

local function put(k, cents, exp, grace)
  redis.call('HSET', k, 'v', s(cents), 'e', s(exp))
  redis.call('PEXPIRE', k, s(exp - now + grace))
end

local function sweep()
  local ids = redis.call('ZRANGEBYSCORE', zkey, '-inf', s(now))
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', hkey, id)
    if raw then
      local r = cjson.decode(raw)
      for _, k in ipairs(r.k) do
        local ck = cprefix .. k
        local cur = redis.call('HGET', ck, 'v')
        if cur then
          local n = tonumber(cur) - r.c
          if n < 0 then n = 0 end
          redis.call('HSET', ck, 'v', s(n))
        end
      end
      redis.call('HDEL', hkey, id)
    end
    redis.call('ZREM', zkey, id)
  end
end

sweep()
`;

/**
 * ARGV: base, now, cents, ttlMs, reservationId, graceMs, then per hold: limit ('' = none), window end.
 * Returns {1, n, before…} or {0, n, before…, exceeded index…}.
 */
export const RESERVE_LUA = `${PRELUDE}
local cents = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local id = ARGV[5]
local grace = tonumber(ARGV[6])
local n = ncounters
local before, exceeded = {}, {}
for i = 1, n do
  before[i] = value(KEYS[i + 2])
  local lim = ARGV[5 + 2 * i]
  if lim ~= '' and before[i] + cents > tonumber(lim) then exceeded[#exceeded + 1] = i - 1 end
end
local out = {#exceeded == 0 and 1 or 0, n}
for i = 1, n do out[#out + 1] = before[i] end
if #exceeded > 0 then
  for _, x in ipairs(exceeded) do out[#out + 1] = x end
  return out
end
if redis.call('HEXISTS', hkey, id) == 1 then return redis.error_reply('reservation ' .. id .. ' already exists') end
local keys = {}
for i = 1, n do
  put(KEYS[i + 2], before[i] + cents, tonumber(ARGV[6 + 2 * i]), grace)
  keys[i] = string.sub(KEYS[i + 2], #cprefix + 1)
end
redis.call('HSET', hkey, id, cjson.encode({c = cents, k = keys}))
redis.call('ZADD', zkey, s(now + ttl), id)
return out
`;

/**
 * ARGV: base, now, actualCents, reservationId, graceMs, then per hold: window end.
 * Returns the counters after.
 */
export const SETTLE_LUA = `${PRELUDE}
local actual = tonumber(ARGV[3])
local id = ARGV[4]
local grace = tonumber(ARGV[5])
local reserved = 0
local raw = redis.call('HGET', hkey, id)
if raw then
  reserved = cjson.decode(raw).c
  redis.call('HDEL', hkey, id)
  redis.call('ZREM', zkey, id)
end
local after = {}
for i = 1, ncounters do
  local exp = tonumber(ARGV[5 + i])
  if exp <= now then
    -- a window that ended while the call ran is not charged again
    after[i] = 0
  else
    local nv = value(KEYS[i + 2]) + actual - reserved
    if nv < 0 then nv = 0 end
    put(KEYS[i + 2], nv, exp, grace)
    after[i] = nv
  end
end
return after
`;

/** ARGV: base, now. Returns the counters of KEYS[3…]. */
export const READ_LUA = `${PRELUDE}
local out = {}
for i = 1, ncounters do out[#out + 1] = value(KEYS[i + 2]) end
return out
`;

/** KEYS: [base:epoch]; ARGV: a new epoch. Sets the marker unless it exists; returns it. */
export const EPOCH_LUA = `
local e = redis.call('GET', KEYS[1])
if not e then
  redis.call('SET', KEYS[1], ARGV[1])
  e = ARGV[1]
end
return e
`;

/**
 * After the server lost a tag's counters: raises each counter to at least the
 * value the client last saw (never lowers one), then sets the marker unless
 * another client already did. KEYS as the others (the last is base:epoch);
 * ARGV: base, now, graceMs, then per counter: cents, window end; last: a new
 * epoch. Returns the marker in force.
 */
export const RESEED_LUA = `
local base = ARGV[1]
local now = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local function s(n) return string.format('%d', n) end
for i = 1, #KEYS - 3 do
  local k = KEYS[i + 2]
  local known = tonumber(ARGV[2 + 2 * i])
  local exp = tonumber(ARGV[3 + 2 * i])
  if exp > now then
    local v = redis.call('HMGET', k, 'v', 'e')
    local cur = 0
    if v[1] and tonumber(v[2]) > now then cur = tonumber(v[1]) end
    if known > cur then
      redis.call('HSET', k, 'v', s(known), 'e', s(exp))
      redis.call('PEXPIRE', k, s(exp - now + grace))
    end
  end
end
local e = redis.call('GET', KEYS[#KEYS])
if not e then
  redis.call('SET', KEYS[#KEYS], ARGV[#ARGV])
  e = ARGV[#ARGV]
end
return e
`;

/** ARGV: base, now. Returns the number of live reservations. */
export const OPEN_LUA = `${PRELUDE}
return redis.call('HLEN', hkey)
`;

/** A script and its SHA-1, for EVALSHA. */
export interface LuaScript {
  lua: string;
  sha: string;
}

export function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}
