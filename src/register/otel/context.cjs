'use strict';
// `@opentelemetry/context-async-hooks` as register uses it (built to
// dist/register-otel-context.cjs): bundled, over the API of register-otel-api.cjs.
module.exports = require('@opentelemetry/context-async-hooks');
