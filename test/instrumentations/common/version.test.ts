import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AnthropicSpendGuardInstrumentation } from '../../../instrumentations/anthropic/index.js';
import { BedrockSpendGuardInstrumentation } from '../../../instrumentations/bedrock/index.js';
import { PACKAGE_VERSION } from '../../../instrumentations/common/version.js';
import { OpenAISpendGuardInstrumentation } from '../../../instrumentations/openai/index.js';

describe('instrumentation scope', () => {
  it('the generated version module matches package.json (run `npm run build` after a version bump)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(PACKAGE_VERSION).toBe(pkg.version);
  });

  it('every provider names its scope agentguard-spend/instrumentation-<provider> at that version', () => {
    const scopes = [new OpenAISpendGuardInstrumentation(), new AnthropicSpendGuardInstrumentation(), new BedrockSpendGuardInstrumentation()].map((i) => {
      const scope = [i.instrumentationName, i.instrumentationVersion];
      i.disable();
      return scope;
    });
    expect(scopes).toEqual([
      ['agentguard-spend/instrumentation-openai', PACKAGE_VERSION],
      ['agentguard-spend/instrumentation-anthropic', PACKAGE_VERSION],
      ['agentguard-spend/instrumentation-bedrock', PACKAGE_VERSION],
    ]);
  });
});
