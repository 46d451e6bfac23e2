const t0 = performance.now();
require('@opentelemetry/api');
const t1 = performance.now();
require(process.argv[2]);
const t2 = performance.now();
require('@pydantic/genai-prices');
const t3 = performance.now();
console.log(JSON.stringify({ api: +(t1 - t0).toFixed(1), engine: +(t2 - t1).toFixed(1), prices: +(t3 - t2).toFixed(1) }));
