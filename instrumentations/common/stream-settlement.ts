/**
 * Wraps an async iterator so that `onChunk` sees every item as the consumer
 * pulls it, and `onFinish` runs exactly once when the stream ends, throws, or
 * is abandoned (`return()`: a `break` out of `for await`, or an abort). The
 * wrapper never reads ahead: the stream is consumed only as fast as the caller
 * consumes it.
 */
export function observeAsyncIterator<T>(
  source: AsyncIterator<T>,
  onChunk: (chunk: T) => void,
  onFinish: (outcome: { error?: unknown; abandoned?: boolean }) => void | Promise<void>,
): AsyncIterableIterator<T> {
  let finished = false;
  const finish = async (outcome: { error?: unknown; abandoned?: boolean }) => {
    if (finished) return;
    finished = true;
    await onFinish(outcome);
  };
  const iterator: AsyncIterableIterator<T> = {
    async next(...args: [] | [unknown]) {
      let step: IteratorResult<T>;
      try {
        step = await source.next(...args);
      } catch (error) {
        await finish({ error });
        throw error;
      }
      if (step.done) {
        await finish({});
      } else {
        try {
          onChunk(step.value);
        } catch {
          // Observing usage must never break the caller's stream.
        }
      }
      return step;
    },
    async return(value?: unknown) {
      await finish({ abandoned: true });
      return source.return ? source.return(value) : { done: true as const, value: value as T };
    },
    async throw(error?: unknown) {
      await finish({ error });
      if (source.throw) return source.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return iterator;
}
