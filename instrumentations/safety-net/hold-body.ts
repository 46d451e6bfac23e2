/** The callback `write`/`end` may be given. */
export type WriteCb = ((error?: Error | null) => void) | undefined;

type Writable = { write: (...args: never[]) => unknown; end: (...args: never[]) => unknown };

/**
 * Holds what the caller writes to `target` (an `http` request or an `http2`
 * stream) until it calls `end`, so the body can be decided on before anything
 * is sent. At `end` the original `write`/`end` are put back and `onEnd`
 * receives the whole body, the original `end`, and the caller's callback.
 */
export function holdBody<T extends Writable>(target: T, onEnd: (body: Buffer, end: T['end'], done: WriteCb) => void): void {
  const write = target.write;
  const end = target.end;
  const chunks: Buffer[] = [];
  const toBuffer = (chunk: unknown, encoding?: unknown) =>
    Buffer.isBuffer(chunk)
      ? chunk
      : typeof chunk === 'string'
        ? Buffer.from(chunk, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding)
        : Buffer.from(chunk as Uint8Array);
  target.write = function (chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    chunks.push(toBuffer(chunk, encoding));
    const done = (typeof encoding === 'function' ? encoding : cb) as WriteCb;
    if (done) process.nextTick(done);
    return true;
  } as T['write'];
  target.end = function (chunk?: unknown, encoding?: unknown, cb?: unknown): T {
    let done: WriteCb;
    if (typeof chunk === 'function') done = chunk as WriteCb;
    else {
      if (chunk !== undefined && chunk !== null) chunks.push(toBuffer(chunk, encoding));
      done = (typeof encoding === 'function' ? encoding : cb) as WriteCb;
    }
    target.write = write;
    target.end = end;
    onEnd(Buffer.concat(chunks), end, done);
    return target;
  } as T['end'];
}
