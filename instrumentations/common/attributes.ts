/**
 * Span attribute names. GenAI, `server.*` and `error.type` names follow the
 * OpenTelemetry GenAI semantic conventions (client inference spans, see
 * docs/opentelemetry.md for the version); everything about the decision lives
 * under `agentguard.*`.
 */
export const ATTR = {
  GEN_AI_PROVIDER_NAME: 'gen_ai.provider.name',
  GEN_AI_OPERATION_NAME: 'gen_ai.operation.name',
  GEN_AI_REQUEST_MODEL: 'gen_ai.request.model',
  GEN_AI_RESPONSE_MODEL: 'gen_ai.response.model',
  GEN_AI_REQUEST_MAX_TOKENS: 'gen_ai.request.max_tokens',
  GEN_AI_REQUEST_STREAM: 'gen_ai.request.stream',
  GEN_AI_RESPONSE_ID: 'gen_ai.response.id',
  GEN_AI_RESPONSE_FINISH_REASONS: 'gen_ai.response.finish_reasons',
  SERVER_ADDRESS: 'server.address',
  SERVER_PORT: 'server.port',
  ERROR_TYPE: 'error.type',
  OPENAI_API_TYPE: 'openai.api.type',
  GEN_AI_USAGE_INPUT_TOKENS: 'gen_ai.usage.input_tokens',
  GEN_AI_USAGE_OUTPUT_TOKENS: 'gen_ai.usage.output_tokens',
  GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 'gen_ai.usage.cache_read.input_tokens',
  GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 'gen_ai.usage.cache_creation.input_tokens',
  GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 'gen_ai.usage.reasoning.output_tokens',
  DECISION_ID: 'agentguard.decision.id',
  DECISION_ACTION: 'agentguard.decision.action',
  DECISION_ENTRY_HASH: 'agentguard.decision.entry_hash',
  DECISION_SEQUENCE: 'agentguard.decision.sequence',
  DECISION_SIGNER: 'agentguard.decision.signer',
  DECISION_ENFORCEMENT_MODE: 'agentguard.decision.enforcement_mode',
  DECISION_MODEL_RESOLVED: 'agentguard.decision.model_resolved',
  DECISION_MODEL_REQUESTED: 'agentguard.decision.model_requested',
  POLICY_ID: 'agentguard.policy.id',
  POLICY_VERSION: 'agentguard.policy.version',
  COST_PROJECTED_CENTS: 'agentguard.cost.projected_cents',
  COST_ACTUAL_CENTS: 'agentguard.cost.actual_cents',
  OUTCOME_ENTRY_HASH: 'agentguard.outcome.entry_hash',
} as const;

/** `gen_ai.provider.name` values for this package's provider names. */
export const GEN_AI_PROVIDER: Record<string, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  bedrock: 'aws.bedrock',
};
