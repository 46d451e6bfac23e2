/**
 * `agentguard-spend/stores`: where a `SpendGuard` keeps its window counters
 * (`spendStore`: in memory, SQLite, Redis) and its signed decisions
 * (`logStore`: in memory, local JSONL files), and the contracts to write
 * another. The SQLite and Redis stores load `node:sqlite` / `ioredis` only
 * when first used. @packageDocumentation
 */
export type { ReserveRequest, ReserveResult, SettleRequest, SpendStore, WindowHold } from './engine/spend-store.js';
export { InMemorySpendStore } from './engine/memory-spend-store.js';
export { SqliteSpendStore, type SqliteSpendStoreOptions } from './stores/sqlite-spend-store.js';
export { RedisSpendStore, TENANT_HASH_TAG, type RedisHashTag, type RedisScriptClient, type RedisSpendStoreOptions } from './stores/redis-spend-store.js';
export { spendStoreFromUrl } from './stores/from-url.js';
export { InMemoryDecisionLogStore, type DecisionLogStore, type Durability } from './engine/log-store.js';
export { FileDecisionLogStore, type FileDecisionLogStoreOptions } from '../exporters/file/file-store.js';
export type { CheckpointOptions, CheckpointProblem } from '../exporters/file/checkpoints.js';
export type { DecisionLogWarning } from '../exporters/file/recovery.js';
export { checkpointSpanEvents, type CheckpointSpanEventsOptions } from '../exporters/otel/checkpoints.js';
