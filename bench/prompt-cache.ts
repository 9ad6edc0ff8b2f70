/**
 * Prompt tokens per sentence, total and uncached under an ideal prefix cache (each prompt costs
 * only the tokens past its longest common prefix with any earlier prompt to the same model: what
 * vLLM's automatic prefix caching or a llama.cpp slot can reuse at best), for el4ner's prompts and,
 * on the same sentences, demonstrations and candidate spans, for the prompt design of the public
 * Python implementation of EL4NER (github.com/qing10101/el4ner_scu, el4ner/prompts.py and
 * pipeline.py): per backbone a zero-shot extraction prompt, a few-shot extraction prompt
 * (instructions, the k demonstrations, the sentence) and a classification prompt (instructions,
 * the k demonstrations with their typed spans, the sentence, the spans), and one verification
 * prompt per classified entity (instructions, the sentence, the span, its type). Its templates are
 * re-written here with the same parts in the same order and about the same length, not copied.
 *
 * The el4ner prompts are the real ones: the method is built by `createMethod` with in-process
 * oracle backbones that record every request (3 backbones, the first also the verifier, k = 5,
 * span-level retrieval over a CoNLL-2003 train pool, CoNLL-2003 test sentences with entities).
 * Tokens: the o200k_base BPE of gpt-tokenizer over `role\ncontent\n` per message, a stand-in for
 * an open model's tokenizer (the ratios, not the counts, are the point).
 *
 *   node --import tsx bench/prompt-cache.ts [--sentences 200] [--pool 2000] [--json out.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from 'gpt-tokenizer';
import { createMethod } from '../src/assemble/index.js';
import type { NerDocument, Span } from '../src/core/types.js';
import type { ChunkTrace } from '../src/el4ner/state.js';
import type { ChatMessage, ChatRequest } from '../src/engines/types.js';
import { evaluate } from '../src/eval/evaluate.js';
import { goldByText, oracleEngine } from '../test/support/oracle.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.resolve(root, '../shared/data/conll2003');
const arg = (name: string, dflt: string | undefined) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

function read(file: string, n: number, keep: (d: NerDocument) => boolean = () => true): NerDocument[] {
  const out: NerDocument[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    const d = { id: o.id, text: o.text, entities: o.entities };
    if (keep(d)) out.push(d);
    if (out.length >= n) break;
  }
  return out;
}

/** The ideal prefix cache of one model: prompts kept sorted, so the longest common prefix with any earlier one is a neighbour's. */
class IdealPrefixCache {
  private readonly seen: Uint32Array[] = [];

  private static lcp(a: Uint32Array, b: Uint32Array): number {
    const n = Math.min(a.length, b.length);
    let i = 0;
    while (i < n && a[i] === b[i]) i++;
    return i;
  }

  private static compare(a: Uint32Array, b: Uint32Array): number {
    const i = IdealPrefixCache.lcp(a, b);
    if (i === a.length || i === b.length) return a.length - b.length;
    return a[i] - b[i];
  }

  /** Tokens of `prompt` not served by the cache; then the prompt is cached. */
  add(prompt: Uint32Array): number {
    let lo = 0;
    let hi = this.seen.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (IdealPrefixCache.compare(this.seen[mid], prompt) < 0) lo = mid + 1;
      else hi = mid;
    }
    let best = 0;
    if (lo > 0) best = Math.max(best, IdealPrefixCache.lcp(this.seen[lo - 1], prompt));
    if (lo < this.seen.length) best = Math.max(best, IdealPrefixCache.lcp(this.seen[lo], prompt));
    this.seen.splice(lo, 0, prompt);
    return prompt.length - best;
  }
}

const tokens = (messages: readonly ChatMessage[]) =>
  Uint32Array.from(encode(messages.map((m) => `${m.role}\n${m.content}\n`).join('')));

interface Tally {
  prompts: number;
  total: number;
  uncached: number;
  /** Uncached tokens per kind of prompt. */
  byKind: Record<string, number>;
}

interface Recorded {
  kind: string;
  messages: ChatMessage[];
}

function tallyOf(perModel: Map<string, Recorded[]>): Tally {
  const t: Tally = { prompts: 0, total: 0, uncached: 0, byKind: {} };
  for (const prompts of perModel.values()) {
    const cache = new IdealPrefixCache();
    for (const p of prompts) {
      const toks = tokens(p.messages);
      const u = cache.add(toks);
      t.prompts++;
      t.total += toks.length;
      t.uncached += u;
      t.byKind[p.kind] = (t.byKind[p.kind] ?? 0) + u;
    }
  }
  return t;
}

// The Python design's templates (same parts, same order, about the same length as theirs).
const Z_EXTRACT = (s: string) =>
  `You are an expert in named entity recognition. List every possible named entity of the sentence.\n- Put '[SEP]' after each entity.\n- Give no explanation.\n- Begin with '[CLS]' and end with '[SEP]'.\n\nSentence: "${s}"\nEntities:`;
const F_EXTRACT = (demos: string, s: string) =>
  `You are an expert in named entity recognition. List every possible named entity of the sentence, as the examples do.\n- Put '[SEP]' after each entity.\n- Give no explanation.\n- Begin with '[CLS]' and end with '[SEP]'.\n\n${demos}Sentence: "${s}"\nEntities:`;
const CLASSIFY = (demos: string, s: string, spans: string) =>
  `You are an expert in named entity recognition. Classify the given candidate entities of the sentence, as the examples do.\n- Answer in the format [CLS]entity1[SEP]type1[CLS]entity2[SEP]type2...\n- Add no new entity.\n- Classify only the given entities.\n\n${demos}Sentence: "${s}"\nSpans to classify: ${spans}\nClassification:`;
const VERIFY = (s: string, span: string, type: string) =>
  `You are a skilled linguist. Decide whether the entity "${span}" in the sentence is of the type "${type}".\nAnswer only "true" or "false", with no explanation.\n\nSentence: "${s}"\nIs "${span}" a "${type}"?\nAnswer:`;
const extractDemos = (demos: readonly NerDocument[]) =>
  demos
    .map(
      (d) => `Sentence: "${d.text}"\nEntities: [CLS]${d.entities.map((e) => e.text).join('[SEP]')}[SEP]\n\n`,
    )
    .join('');
const classifyDemos = (demos: readonly NerDocument[]) =>
  demos
    .map(
      (d) =>
        `Sentence: "${d.text}"\nSpans to classify: ${d.entities.map((e) => e.text).join('[SEP]')}\nClassification: ${d.entities.map((e) => `[CLS]${e.text}[SEP]${e.type}`).join('')}\n\n`,
    )
    .join('');

/** The Python design's prompts for the same sentences, demonstrations, candidate spans and entities. */
function pythonDesign(
  traces: readonly ChunkTrace[],
  docs: readonly NerDocument[],
  poolById: ReadonlyMap<string, NerDocument>,
  backbones: readonly string[],
  verifier: string,
): Map<string, Recorded[]> {
  const per = new Map<string, Recorded[]>(backbones.map((b) => [b, []]));
  const user = (kind: string, content: string): Recorded => ({ kind, messages: [{ role: 'user', content }] });
  for (const t of traces) {
    const text = docs[t.doc].text.slice(t.start, t.end);
    const demos = t.demos.map((id) => poolById.get(id)!);
    const spans = t.union.map((s: Span) => s.text).join('[SEP]');
    for (const b of backbones) {
      per.get(b)!.push(user('prespans', Z_EXTRACT(text)));
      per.get(b)!.push(user('spans', F_EXTRACT(extractDemos(demos), text)));
      if (t.union.length > 0) per.get(b)!.push(user('types', CLASSIFY(classifyDemos(demos), text, spans)));
    }
    for (const e of t.voted) per.get(verifier)!.push(user('verdicts', VERIFY(text, e.text, e.type)));
  }
  return per;
}

const nSentences = Number(arg('sentences', '200'));
const test = read(path.join(data, 'test.jsonl'), nSentences, (d) => d.entities.length > 0);
const pool = read(path.join(data, 'train.jsonl'), Number(arg('pool', '2000')));
const poolById = new Map(pool.map((d) => [d.id, d]));
const backbones = ['a', 'b', 'c'];
const byText = goldByText(test);
const engines = new Map(backbones.map((n) => [n, oracleEngine(n, byText)]));
const method = await createMethod(
  {
    models: backbones.map((name) => ({
      name,
      engine: 'openai',
      baseUrl: 'http://127.0.0.1:9/v1',
      model: name,
    })),
    labels: ['LOC', 'MISC', 'ORG', 'PER'],
    retrieval: { k: 5 },
    concurrency: 1,
  },
  { engines, demos: pool, log: () => {} },
);
const result = await method.tag(test);
await method.close();
const f1 = evaluate(test, result.docs, { bootstrap: 0 }).micro.f1;
const traces = result.traces as ChunkTrace[];

const ours = new Map<string, Recorded[]>();
for (const [name, e] of engines)
  ours.set(
    name,
    (e.requests as ChatRequest[]).map((r) => ({ kind: r.jsonSchema?.name ?? '?', messages: r.messages })),
  );
const o = tallyOf(ours);
const p = tallyOf(pythonDesign(traces, test, poolById, backbones, 'a'));
const n = traces.length;
const row = (name: string, t: Tally) => ({
  design: name,
  promptsPerSentence: t.prompts / n,
  totalTokensPerSentence: t.total / n,
  uncachedTokensPerSentence: t.uncached / n,
  uncachedByStage: Object.fromEntries(Object.entries(t.byKind).map(([k, v]) => [k, Math.round(v / n)])),
});
const rows = [row('el4ner', o), row('public Python implementation', p)];
console.log(
  `Prompt tokens per sentence (${n} CoNLL-2003 test sentences, 3 backbones, k = 5, o200k_base tokens; el4ner strict F1 with oracle backbones ${f1.toFixed(4)})`,
);
console.log('| design | prompts | total tokens | uncached tokens (ideal prefix cache) | uncached by stage |');
console.log('|---|---:|---:|---:|---|');
for (const r of rows)
  console.log(
    `| ${r.design} | ${r.promptsPerSentence.toFixed(2)} | ${r.totalTokensPerSentence.toFixed(0)} | ${r.uncachedTokensPerSentence.toFixed(0)} | ${Object.entries(
      r.uncachedByStage,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} |`,
  );
console.log(
  `el4ner / Python: total ${(o.total / p.total).toFixed(3)}x, uncached ${(o.uncached / p.uncached).toFixed(3)}x, prompts ${(o.prompts / p.prompts).toFixed(3)}x`,
);
const json = arg('json', undefined);
if (json) writeFileSync(json, `${JSON.stringify({ sentences: n, f1, rows }, null, 2)}\n`);
