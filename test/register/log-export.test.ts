import { describe, expect, it } from 'vitest';
import { logExportFromEnv } from '../../src/register/log-export.js';

describe('AGENTGUARD_LOG_EXPORT', () => {
  it('defaults to file and accepts file, otel and both', () => {
    expect(logExportFromEnv({})).toBe('file');
    expect(logExportFromEnv({ AGENTGUARD_LOG_EXPORT: 'otel' })).toBe('otel');
    expect(logExportFromEnv({ AGENTGUARD_LOG_EXPORT: 'Both' })).toBe('both');
  });

  it('names the variable for a bad value, and refuses AGENTGUARD_CHAIN_ID with otel only (nothing to resume from)', () => {
    expect(() => logExportFromEnv({ AGENTGUARD_LOG_EXPORT: 'otlp' })).toThrow(/AGENTGUARD_LOG_EXPORT: expected one of file, otel, both, got "otlp"/);
    expect(() => logExportFromEnv({ AGENTGUARD_LOG_EXPORT: 'otel', AGENTGUARD_CHAIN_ID: 'svc' })).toThrow(
      /AGENTGUARD_CHAIN_ID: resumes a chain from its files/,
    );
    expect(logExportFromEnv({ AGENTGUARD_LOG_EXPORT: 'both', AGENTGUARD_CHAIN_ID: 'svc' })).toBe('both');
  });
});
