import { InstrumentationBase, isWrapped } from '@opentelemetry/instrumentation';
import { describe, expect, it } from 'vitest';
import { findCoexistingWrapper, installCoexistingWrapper, uninstallCoexistingWrapper } from '../../../instrumentations/common/coexisting-wrap.js';

const MARKER = Symbol('test coexisting wrapper');

/** Another instrumentation using the contrib `_wrap`/`_unwrap` (which unwraps a method marked wrapped). */
class Other extends InstrumentationBase {
  constructor() {
    super('other', '1.0.0', { enabled: false });
  }
  protected init() {
    return [];
  }
  wrap(target: object, log: string[]) {
    this._wrap(
      target as Record<string, () => string>,
      'run',
      (original) =>
        function (this: unknown) {
          log.push('other');
          return original.call(this);
        },
    );
  }
  unwrap(target: object) {
    this._unwrap(target as Record<string, () => string>, 'run');
  }
}

function fixture() {
  const log: string[] = [];
  class Base {
    run(): string {
      log.push('sdk');
      return 'result';
    }
  }
  class Client extends Base {}
  class Own {
    run(): string {
      log.push('sdk');
      return 'result';
    }
  }
  const install = (target: object, owner: string) =>
    installCoexistingWrapper(
      target,
      'run',
      MARKER,
      owner,
      (original, state) =>
        function (this: unknown) {
          log.push(`ours:${state.instrumentation}`);
          return original.call(this);
        },
    );
  return { log, Base, Client, Own, install };
}

describe('installCoexistingWrapper', () => {
  it('wraps the method without shimmer marking it as wrapped', () => {
    const { log, Own, install } = fixture();
    const pristine = Own.prototype.run;
    expect(install(Own.prototype, 'a')).toBe(true);
    expect(new Own().run()).toBe('result');
    expect(log).toEqual(['ours:a', 'sdk']);
    expect(isWrapped(Own.prototype.run)).toBe(false);
    expect((Own.prototype.run as unknown as { __original: unknown }).__original).toBe(pristine);
    expect(Object.prototype.propertyIsEnumerable.call(Own.prototype, 'run')).toBe(false);
    expect(install({ run: 1 }, 'a')).toBe(false);
  });

  it('a later contrib _wrap wraps over ours, and its unwrap restores ours', () => {
    const { log, Own, install } = fixture();
    install(Own.prototype, 'a');
    const ours = Own.prototype.run;
    const other = new Other();
    other.wrap(Own.prototype, log);
    new Own().run();
    expect(log).toEqual(['other', 'ours:a', 'sdk']);
    other.unwrap(Own.prototype);
    expect(Own.prototype.run).toBe(ours);
  });

  it('another instrumentation cannot unwrap ours', () => {
    const { Own, install } = fixture();
    install(Own.prototype, 'a');
    const ours = Own.prototype.run;
    const errors: unknown[] = [];
    const consoleError = console.error;
    console.error = (...a: unknown[]) => errors.push(a);
    try {
      new Other().unwrap(Own.prototype);
    } finally {
      console.error = consoleError;
    }
    expect(Own.prototype.run).toBe(ours);
  });

  it('patching again finds ours below another wrapper and re-activates it for the new owner instead of stacking', () => {
    const { log, Own, install } = fixture();
    install(Own.prototype, 'a');
    new Other().wrap(Own.prototype, log);
    uninstallCoexistingWrapper(Own.prototype, 'run', MARKER);
    new Own().run();
    expect(log).toEqual(['other', 'sdk']);
    log.length = 0;
    install(Own.prototype, 'b');
    new Own().run();
    expect(log).toEqual(['other', 'ours:b', 'sdk']);
    expect(findCoexistingWrapper(Own.prototype.run, MARKER)).toMatchObject({ instrumentation: 'b', active: true });
  });

  it('patching twice on top guards once', () => {
    const { log, Own, install } = fixture();
    install(Own.prototype, 'a');
    install(Own.prototype, 'b');
    new Own().run();
    expect(log).toEqual(['ours:b', 'sdk']);
  });

  it('unpatching on top restores the own original', () => {
    const { log, Own, install } = fixture();
    const pristine = Own.prototype.run;
    install(Own.prototype, 'a');
    const state = findCoexistingWrapper(Own.prototype.run, MARKER)!;
    uninstallCoexistingWrapper(Own.prototype, 'run', MARKER);
    expect(Own.prototype.run).toBe(pristine);
    expect(state.active).toBe(false);
    new Own().run();
    expect(log).toEqual(['sdk']);
  });

  it('an inherited method is looked up at call time and unpatching deletes our own property', () => {
    const { log, Base, Client, install } = fixture();
    install(Client.prototype, 'a');
    expect(Object.prototype.hasOwnProperty.call(Client.prototype, 'run')).toBe(true);
    const other = new Other();
    other.wrap(Base.prototype, log);
    new Client().run();
    expect(log).toEqual(['ours:a', 'other', 'sdk']);
    other.unwrap(Base.prototype);
    uninstallCoexistingWrapper(Client.prototype, 'run', MARKER);
    expect(Object.prototype.hasOwnProperty.call(Client.prototype, 'run')).toBe(false);
  });

  it('uninstall of a method we never patched changes nothing', () => {
    const { Own } = fixture();
    const pristine = Own.prototype.run;
    uninstallCoexistingWrapper(Own.prototype, 'run', MARKER);
    expect(Own.prototype.run).toBe(pristine);
  });
});
