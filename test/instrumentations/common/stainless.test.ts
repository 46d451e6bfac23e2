import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  apiPromiseClassOf,
  deferredAPIPromise,
  isAPIPromiseClass,
  registerAPIPromiseClass,
  type APIPromiseClass,
} from '../../../instrumentations/common/stainless.js';

const require = createRequire(import.meta.url);
const openai = require('openai') as typeof import('openai');
const anthropic = require('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk');

interface Props {
  response: { body: string };
  options: Record<string, unknown>;
}

/** A minimal Stainless-shaped APIPromise: lazy parse, memoized. */
class FakeAPIPromise extends Promise<unknown> {
  parsedPromise?: Promise<unknown>;
  parses = 0;
  constructor(
    readonly client: unknown,
    readonly responsePromise: Promise<Props>,
    readonly parseResponse: (client: unknown, props: Props) => unknown = (_c, p) => JSON.parse(p.response.body),
  ) {
    super((resolve) => resolve(null));
  }
  static override get [Symbol.species]() {
    return Promise;
  }
  parse(): Promise<unknown> {
    this.parsedPromise ??= this.responsePromise.then((p) => {
      this.parses++;
      return this.parseResponse(this.client, p);
    });
    return this.parsedPromise;
  }
  asResponse() {
    return this.responsePromise.then((p) => p.response);
  }
  override then<A = unknown, B = never>(f?: ((v: unknown) => A | PromiseLike<A>) | null, r?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.parse().then(f, r);
  }
}

class FakeClient {
  requests = 0;
  request(options: Promise<unknown>) {
    return new FakeAPIPromise(
      this,
      options.then(() => {
        this.requests++;
        return { response: { body: '{"usage":1}' }, options: {} };
      }),
    );
  }
}

const response = (body = '{"usage":1}'): Promise<Props> => Promise.resolve({ response: { body }, options: {} });

describe('finding the APIPromise class of a client', () => {
  it('probes a client without sending anything, and caches per client class', () => {
    const client = new FakeClient();
    expect(apiPromiseClassOf(client)).toBe(FakeAPIPromise);
    expect(apiPromiseClassOf(new FakeClient())).toBe(FakeAPIPromise);
    expect(client.requests).toBe(0);
  });

  it('finds the real SDKs’ classes', () => {
    const o = new openai.OpenAI({ apiKey: 'k', baseURL: 'http://127.0.0.1:9' });
    expect(apiPromiseClassOf(o)).toBe(openai.APIPromise);
    const a = new anthropic.Anthropic({ apiKey: 'k', baseURL: 'http://127.0.0.1:9' });
    expect(isAPIPromiseClass(apiPromiseClassOf(a))).toBe(true);
  });

  it('uses a registered class for a client class and its subclasses', () => {
    class Registered {}
    class Sub extends Registered {}
    registerAPIPromiseClass(Registered, FakeAPIPromise);
    expect(apiPromiseClassOf(new Sub())).toBe(FakeAPIPromise);
  });

  it('refuses the old (responsePromise, parseResponse) constructor shape and non-clients', () => {
    class OldShape extends Promise<unknown> {
      responsePromise: unknown;
      constructor(responsePromise: unknown) {
        super((resolve) => resolve(null));
        this.responsePromise = responsePromise;
      }
      static override get [Symbol.species]() {
        return Promise;
      }
      asResponse() {}
    }
    class OldClient {
      request(options: unknown) {
        return new OldShape(options);
      }
    }
    expect(apiPromiseClassOf(new OldClient())).toBeUndefined();
    expect(apiPromiseClassOf({})).toBeUndefined();
    expect(apiPromiseClassOf(undefined)).toBeUndefined();
  });
});

describe('deferredAPIPromise', () => {
  const client = new FakeClient();
  const make = (inner: () => unknown, opts: { parse?: 'shared' | 'own'; decide?: Promise<void> } = {}) => {
    const events: string[] = [];
    const started = (async () => {
      await opts.decide;
      events.push('decided');
      return { inner: inner() };
    })();
    const outer = deferredAPIPromise(FakeAPIPromise as unknown as APIPromiseClass, client, {
      started,
      parse: opts.parse ?? 'shared',
      fail: async (e) => void events.push(`fail:${(e as Error).message}`),
      observe: (data) => {
        events.push('observed');
        return data;
      },
      onAsResponse: (r, parseStarted) => {
        events.push(`asResponse:${parseStarted}`);
        return r;
      },
    });
    return { outer: outer as FakeAPIPromise, events };
  };

  it('is an APIPromise of the given class, returned before the decision; parses and observes the inner result', async () => {
    let decide!: () => void;
    let innerCalled = false;
    const { outer, events } = make(
      () => {
        innerCalled = true;
        return new FakeAPIPromise(client, response());
      },
      { decide: new Promise<void>((r) => (decide = r)) },
    );
    expect(outer).toBeInstanceOf(FakeAPIPromise);
    await Promise.resolve();
    expect(innerCalled).toBe(false);
    decide();
    expect(await outer).toEqual({ usage: 1 });
    expect(events).toEqual(['decided', 'observed']);
  });

  it("'shared' shares the inner promise's memoized parse; 'own' calls its parseResponse", async () => {
    const inner = new FakeAPIPromise(client, response());
    void inner.then(() => undefined); // another holder (e.g. contrib instrumentation) parses it too
    const { outer } = make(() => inner, { parse: 'shared' });
    await outer;
    expect(inner.parses).toBe(1);

    const inner2 = new FakeAPIPromise(client, response());
    const { outer: outer2 } = make(() => inner2, { parse: 'own' });
    expect(await outer2).toEqual({ usage: 1 });
    expect(inner2.parses).toBe(0);
  });

  it('a decision that throws rejects and releases; nothing is observed', async () => {
    const { outer, events } = make(() => {
      throw new Error('blocked');
    });
    await expect(outer).rejects.toThrow('blocked');
    expect(events).toEqual(['decided', 'fail:blocked']);
  });

  it('a failing response or parse releases the call', async () => {
    const { outer, events } = make(() => new FakeAPIPromise(client, Promise.reject(new Error('500'))));
    await expect(outer).rejects.toThrow('500');
    expect(events).toContain('fail:500');
    const bad = make(() => new FakeAPIPromise(client, response('not json')));
    await expect(bad.outer).rejects.toThrow();
    expect(bad.events.some((e) => e.startsWith('fail:'))).toBe(true);
  });

  it('asResponse() hands the raw response to the hook, saying whether a parse started', async () => {
    const { outer, events } = make(() => new FakeAPIPromise(client, response()));
    expect(await outer.asResponse()).toEqual({ body: '{"usage":1}' });
    expect(events).toEqual(['decided', 'asResponse:false']);
  });

  it('an inner wrapper returning a plain Promise: its value is the parsed result', async () => {
    const { outer, events } = make(() => Promise.resolve({ usage: 2 }));
    expect(await outer).toEqual({ usage: 2 });
    expect(events).toEqual(['decided', 'observed']);
  });

  it('without an APIPromise class: a plain Promise, still guarded', async () => {
    const started = Promise.resolve({ inner: new FakeAPIPromise(client, response()) });
    const p = deferredAPIPromise(undefined, client, { started, parse: 'shared', fail: async () => undefined, observe: (d) => ({ observed: d }) });
    expect(p).not.toBeInstanceOf(FakeAPIPromise);
    expect(await p).toEqual({ observed: { usage: 1 } });
  });
});
