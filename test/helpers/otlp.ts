import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A loopback OTLP/HTTP logs receiver that stores what it receives as the Collector's file exporter does. */
export interface OtlpFileReceiver {
  /** The OTLP/HTTP logs endpoint (`…/v1/logs`). */
  logsUrl: string;
  /** Export requests received. */
  requests: number;
  close(): Promise<void>;
}

/**
 * Starts a receiver on 127.0.0.1 that accepts OTLP/HTTP JSON log exports and
 * appends each request to `file` as one JSON line, re-encoded the way the
 * Collector's file exporter (`format: json`) writes OTLP JSON: int64 values
 * (`intValue`, `timeUnixNano`, `observedTimeUnixNano`) as decimal strings,
 * trace and span ids as hex.
 */
export async function startOtlpFileReceiver(file: string): Promise<OtlpFileReceiver> {
  writeFileSync(file, '');
  const state = { requests: 0 };
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/logs' || !String(req.headers['content-type']).startsWith('application/json')) {
      res.writeHead(415).end();
      return;
    }
    const body = await readBody(req);
    const doc = JSON.parse(body.toString('utf8')) as unknown;
    appendFileSync(file, `${JSON.stringify(asCollectorJson(doc))}\n`);
    state.requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    logsUrl: `http://127.0.0.1:${port}/v1/logs`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

const INT64_FIELDS = new Set(['intValue', 'timeUnixNano', 'observedTimeUnixNano']);

/** Int64 fields as strings, the protobuf JSON mapping the Collector writes. */
function asCollectorJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(asCollectorJson);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = INT64_FIELDS.has(k) && typeof x === 'number' ? String(x) : asCollectorJson(x);
  return out;
}

/** One stored OTLP log record, as found in a receiver file. */
export interface StoredRecord {
  eventName?: string;
  body?: { stringValue?: string };
  attributes?: { key: string; value: { stringValue?: string; intValue?: string } }[];
  traceId?: string;
  spanId?: string;
}

interface StoredDoc {
  resourceLogs: { scopeLogs: { scope?: { name?: string }; logRecords: StoredRecord[] }[] }[];
}

/** The file's export requests, one per line. */
export function readStored(file: string): StoredDoc[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StoredDoc);
}

export function writeStored(file: string, docs: StoredDoc[]): void {
  writeFileSync(file, docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
}

/** A stored record's attribute (string or int64-as-string). */
export function attr(r: StoredRecord, key: string): string | undefined {
  const v = r.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue;
}

/** Every stored record with where it sits, for edits. */
export function storedRecords(docs: StoredDoc[]): { record: StoredRecord; list: StoredRecord[]; index: number }[] {
  return docs.flatMap((d) =>
    d.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((record, index) => ({ record, list: sl.logRecords, index })))),
  );
}
