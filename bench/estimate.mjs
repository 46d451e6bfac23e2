// CPU per call of the pre-call input estimate (the bounding one) against the
// sampling estimate it replaced, on the same texts in the same run.
//   npm run build && node bench/estimate.mjs
import { createRequire } from 'node:module';
import { countTextTokens, EXACT_COUNT_BUDGET, inputTokenBound } from '../dist/internal/estimate.js';
import { machine, measureSync, report, round } from './lib.mjs';

const { countTokens } = createRequire(import.meta.url)('gpt-tokenizer/encoding/o200k_base');

/** The replaced estimate: exact up to 16,000 characters, else three sampled slices extrapolated with a 10% margin. */
function sampledEstimate(texts) {
  let chars = 0;
  for (const t of texts) chars += t.length;
  if (chars <= 16_000) return texts.reduce((n, t) => n + countTokens(t), 0);
  const share = 12_000 / chars;
  let sampledChars = 0;
  let sampledTokens = 0;
  for (const t of texts) {
    const piece = Math.ceil(Math.ceil(t.length * share) / 3);
    for (const start of [0, Math.floor((t.length - piece) / 2), t.length - piece]) {
      const slice = t.slice(start, start + piece);
      sampledChars += slice.length;
      sampledTokens += countTokens(slice);
    }
  }
  return Math.ceil(chars * (sampledTokens / Math.max(1, sampledChars)) * 1.1);
}

const WORDS = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches'.split(' ');
function prose(n, seed) {
  let s = `${seed} `;
  let x = seed + 1;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += WORDS[x % WORDS.length] + (x % 10 === 0 ? '. ' : ' ');
  }
  return s.slice(0, n);
}
function dense(n, seed) {
  let s = '';
  let x = seed + 1;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += x % 2 ? String.fromCodePoint(0x4e00 + (x % 20_000)) : String.fromCharCode(0x21 + (x % 94));
  }
  return s;
}

// Every iteration gets text it has not seen (a new seed), so the count cache never helps,
// except in the "agent turn" case, where the long system prompt repeats as in a real agent.
const system = prose(30_000, 424242);
const cases = [
  { name: 'prose 2 KB, new', texts: (i) => [prose(2_000, i)] },
  { name: 'prose 16 KB, new', texts: (i) => [prose(16_000, i)] },
  { name: 'prose 32 KB, new', texts: (i) => [prose(32_000, i)] },
  { name: 'prose 150 KB, new', texts: (i) => [prose(150_000, i)] },
  { name: 'adversarial (random symbols) 32 KB, new', texts: (i) => [dense(32_000, i)] },
  { name: 'adversarial (random symbols) 150 KB, new: stops at the time budget', texts: (i) => [dense(150_000, i)] },
  { name: 'prose beyond the exact budget, new', texts: (i) => [prose(EXACT_COUNT_BUDGET + 50_000, i)] },
  { name: 'agent turn: 30 KB system prompt seen before + 1 KB new', texts: (i) => [system, prose(1_000, i)] },
];

const quick = process.argv.includes('--quick');
const results = [];
for (const c of cases) {
  const iterations = quick ? 10 : 40;
  const inputs = Array.from({ length: iterations + 10 }, (_, i) => c.texts(i * 7919 + 13));
  let k = 0;
  const bound = measureSync('bound', () => countTextTokens('gpt-4o', inputs[k++ % inputs.length]), { iterations, warmup: 10 });
  let j = 0;
  const sampled = measureSync('sampled', () => sampledEstimate(inputs[j++ % inputs.length]), { iterations, warmup: 10 });
  // A text not seen by the timed loops (the cache would answer exactly).
  const sample = c.texts(999_983);
  const exact = sample.reduce((n, t) => n + countTokens(t), 0);
  results.push({
    case: c.name,
    boundCpuUs: bound.cpuUs,
    sampledCpuUs: sampled.cpuUs,
    boundWallUs: bound.meanUs,
    sampledWallUs: sampled.meanUs,
    addedCpuUs: round(bound.cpuUs - sampled.cpuUs),
    exactTokens: exact,
    boundTokens: countTextTokens('gpt-4o', sample),
    sampledTokens: sampledEstimate(sample),
  });
}
const bodies = Array.from({ length: 50 }, (_, i) => ({ messages: [{ role: 'user', content: prose(32_000, i) }] }));
const byteBound = measureSync('inputTokenBound 32 KB', (i) => inputTokenBound(bodies[i % bodies.length]), { iterations: quick ? 200 : 2_000, warmup: 50 });
report('input estimate: CPU per call, bounding vs sampled (o200k, Node ' + process.version + ')', results, {
  machine: await machine(),
  byteBoundCpuUs32KB: byteBound.cpuUs,
  note: 'texts are built before timing; addedCpuUs = bounding minus sampled CPU per call; byteBoundCpuUs32KB: the Anthropic/Bedrock byte bound of a 32 KB message',
});
