/**
 * `agentguard-spend/stores`: where a `SpendGuard` keeps its window counters
 * (`spendStore`: in memory, SQLite, Redis) and its signed decisions
 * (`logStore`: in memory, local JSONL files; `readDecisionLog` reads a log
 * directory back), and the contracts to write another. The SQLite and Redis stores load `node:sqlite` / `ioredis` only
 * when first used. @packageDocumentation
 */
export type { ReserveRequest, ReserveResult, SettleRequest, SpendStore, WindowHold } from './engine/spend-store.js';
export { InMemorySpendStore } from './engine/memory-spend-store.js';
export { SqliteSpendStore, type SqliteSpendStoreOptions } from './stores/sqlite-spend-store.js';
export { RedisSpendStore, TENANT_HASH_TAG, type RedisHashTag, type RedisScriptClient, type RedisSpendStoreOptions } from './stores/redis-spend-store.js';
export { spendStoreFromUrl } from './stores/from-url.js';
export { InMemoryDecisionLogStore, type DecisionLogStore, type Durability } from './engine/log-store.js';
// What a `DecisionLogStore` implementation is handed: the chain's position and the key that signs it.
export type { ChainHead } from './audit/chain.js';
export type { Signer } from './audit/signer.js';
export { FileDecisionLogStore, type FileDecisionLogStoreOptions } from '../exporters/file/file-store.js';
export { ChainSignerMismatchError } from '../exporters/file/chain-file.js';
export { ChainLockedError, type ChainLockOwner } from '../exporters/file/lock.js';
export { assertChainSignerSync, readChainSignerSync, type ChainSigner } from '../exporters/file/signer-check.js';
export type { CheckpointOptions, CheckpointProblem } from '../exporters/file/checkpoints.js';
export type { DecisionLogWarning } from '../exporters/file/recovery.js';
export { readDecisionLog, type ChainSource } from '../exporters/file/reader.js';
export { OtelLogRecordStore, type OtelLogRecordStoreOptions } from '../exporters/otel/log-records.js';
