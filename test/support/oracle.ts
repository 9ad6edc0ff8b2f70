/**
 * Test and benchmark helpers: backbones that answer the pipeline's prompts from gold annotations,
 * with configurable error patterns, as an in-process Engine or as a scripted-server handler.
 * They read the prompt the way a model would (the sentence and the numbered items come last).
 */
import { findOccurrences, nameSpan } from '../../src/answers/grounding.js';
import type { Entity, NerDocument } from '../../src/core/types.js';
import { NONE_TYPE } from '../../src/core/types.js';
import { modelDocument } from '../../src/el4ner/model-text.js';
import { STEPS } from '../../src/el4ner/prompts.js';
import type { ChatMessage, ChatRequest, ChatResponse, Engine } from '../../src/engines/types.js';

export type PromptKind = 'prespans' | 'spans' | 'types' | 'verdicts' | 'entities';

/** A numbered item as the prompt names it. */
export interface PromptItem {
  text: string;
  occurrence?: number;
  context?: string;
  /** Verification items: the type given. */
  type?: string;
}

export interface ParsedPrompt {
  kind: PromptKind;
  sentence: string;
  /** The label list of the instructions. */
  labels: string[];
  /** Numbered items (classification spans / verification entities). */
  items: PromptItem[];
}

/** `Carly (occurrence 2 of 3)`, `Carly (in "the iCarly show")` or plain `Carly`. */
function readItemName(name: string): PromptItem {
  const occ = /^(.*) \(occurrence (\d+) of \d+\)$/.exec(name);
  if (occ) return { text: occ[1], occurrence: Number(occ[2]) };
  const ctx = /^(.*) \(in "(.*)"\)$/.exec(name);
  if (ctx) return { text: ctx[1], context: ctx[2] };
  return { text: name };
}

/**
 * Reads the stage, the labels, the sentence and the numbered items from a pipeline prompt, the
 * way a model would: the sentence and its items come last. Reads the current item format
 * (`1. Carly (occurrence 2 of 2): PER`) and the earlier one (`1. Obama (PER)`).
 */
export function parsePrompt(messages: readonly ChatMessage[], schemaName: string): ParsedPrompt {
  const system = messages.find((m) => m.role === 'system')?.content ?? '';
  const labels = [...system.matchAll(/^- ([^:\n]+?)(?::.*)?$/gm)]
    .map((m) => m[1])
    .filter((l) => l !== NONE_TYPE);
  const user = messages.filter((m) => m.role === 'user').at(0)?.content ?? '';
  let sentence: string;
  let rest: string;
  let nl: number;
  if (user.startsWith('Sentence: ')) {
    // The prefix-cache layout: the sentence first (it may span lines), then the examples, then the step and its items.
    const body = user.slice('Sentence: '.length);
    const ends = ['\n\nExamples:\n', ...Object.values(STEPS).map((step) => `\n\n${step}`)]
      .map((m) => body.indexOf(m))
      .filter((i) => i >= 0);
    sentence = body.slice(0, ends.length ? Math.min(...ends) : body.length);
    const tail = body.slice(Math.max(...Object.values(STEPS).map((step) => body.lastIndexOf(`\n\n${step}`))));
    rest = tail;
    nl = 0;
  } else {
    // The earlier layout (examples first, the sentence last), for runs of older checkouts.
    const at = user.lastIndexOf('Sentence: ');
    rest = user.slice(at + 'Sentence: '.length);
    const ends = ['\nSpans:\n', '\nEntities:\n', '\nAnswer:']
      .map((m) => rest.lastIndexOf(m))
      .filter((i) => i >= 0);
    nl = ends.length ? Math.min(...ends) : rest.length;
    sentence = rest.slice(0, nl);
  }
  const items: PromptItem[] = [];
  const known = new Set(labels);
  for (const line of rest.slice(nl + 1).split('\n')) {
    const m = /^(\d+)\. (.*)$/.exec(line);
    if (!m) continue;
    if (schemaName === 'verdicts') {
      const now = /^(.*): ([^:]+)$/.exec(m[2]);
      const old = /^(.*) \(([^()]*)\)$/.exec(m[2]);
      if (now && (known.size === 0 || known.has(now[2])))
        items.push({ ...readItemName(now[1]), type: now[2] });
      else if (old) items.push({ text: old[1], type: old[2] });
      else items.push({ text: m[2] });
    } else items.push(readItemName(m[2]));
  }
  return { kind: schemaName as PromptKind, sentence, labels, items };
}

/** Where an item lies in the sentence, read as a model would (the k-th occurrence, or inside its context). */
export function locateItem(sentence: string, item: PromptItem): { start: number; end: number } | undefined {
  const occ = findOccurrences(sentence, item.text);
  if (occ.length === 0) return undefined;
  if (item.context !== undefined) {
    const c = sentence.indexOf(item.context);
    if (c >= 0) {
      const inner = item.context.indexOf(item.text);
      if (inner >= 0) return { start: c + inner, end: c + inner + item.text.length };
    }
  }
  const [start, end] = occ[Math.min(occ.length, item.occurrence ?? 1) - 1];
  return { start, end };
}

export interface Behaviour {
  /** Spans this backbone extracts, from the gold entities of the sentence (default: all gold spans). */
  extract?: (
    gold: readonly Entity[],
    sentence: string,
  ) => Array<string | { text: string; occurrence?: number }>;
  /** Type given to a span whose gold type is `goldType` (undefined when it is not a gold entity). */
  classify?: (span: string, goldType: string | undefined, sentence: string) => string;
  /** Verifier decision for a typed entity (default: yes iff gold has that span text with that type). */
  verify?: (span: string, type: string, goldType: string | undefined) => boolean;
}

/**
 * How the answer's spans are asked for: `strict` objects `{text, occurrence}` (occurrence null
 * unless the string repeats, the current schemas), or `legacy` plain strings with
 * `{text, occurrence}` only for a repeated string (earlier schemas, where occurrence was optional).
 */
export type SpanShape = 'strict' | 'legacy';

/** The span shape a request's JSON schema asks for (strict when there is no schema). */
export function spanShapeOf(schema: unknown): SpanShape {
  const text = JSON.stringify(schema ?? {});
  if (!text.includes('"occurrence"')) return 'strict';
  return /"required":\[[^\]]*"occurrence"/.test(text) ? 'strict' : 'legacy';
}

/** A span as the extraction schema asks for it. */
export function spanJson(m: string | { text: string; occurrence?: number }, shape: SpanShape = 'strict') {
  const text = typeof m === 'string' ? m : m.text;
  const occurrence = typeof m === 'string' ? undefined : m.occurrence;
  if (shape === 'legacy') return occurrence === undefined ? text : { text, occurrence };
  return { text, occurrence: occurrence ?? null };
}

/** Gold entity strings of a sentence, with occurrence indexes where a string repeats (the prompts' rule). */
export function goldMentions(sentence: string, gold: readonly Entity[]) {
  return [...gold]
    .sort((a, b) => a.start - b.start)
    .map((e) => {
      const n = nameSpan(sentence, e);
      return n.occurrence !== undefined ? { text: n.text, occurrence: n.occurrence } : n.text;
    });
}

/** Answers one prompt from gold. Unknown sentences get empty answers. */
export function oracleAnswer(
  byText: ReadonlyMap<string, readonly Entity[]>,
  behaviour: Behaviour,
  messages: readonly ChatMessage[],
  schemaName: string,
  shape: SpanShape = 'strict',
): unknown {
  const p = parsePrompt(messages, schemaName);
  const gold = goldOf(byText, p.sentence);
  const goldTypeOf = (item: PromptItem) => {
    const at = locateItem(p.sentence, item);
    const same = at ? gold.find((e) => e.start === at.start && e.end === at.end) : undefined;
    return same?.type;
  };
  switch (p.kind) {
    case 'prespans':
    case 'spans':
      return {
        spans: (behaviour.extract ? behaviour.extract(gold, p.sentence) : goldMentions(p.sentence, gold)).map(
          (m) => spanJson(m, shape),
        ),
      };
    case 'types':
      return {
        answers: p.items.map((it, i) => {
          const gt = goldTypeOf(it);
          return {
            id: i + 1,
            type: behaviour.classify ? behaviour.classify(it.text, gt, p.sentence) : (gt ?? NONE_TYPE),
          };
        }),
      };
    case 'verdicts':
      return {
        answers: p.items.map((it, i) => {
          const gt = goldTypeOf(it);
          const ok = behaviour.verify ? behaviour.verify(it.text, it.type ?? '', gt) : gt === it.type;
          return { id: i + 1, answer: ok ? 'yes' : 'no' };
        }),
      };
    case 'entities': {
      const spans = behaviour.extract ? behaviour.extract(gold, p.sentence) : goldMentions(p.sentence, gold);
      return {
        entities: spans.map((s) => {
          const m = typeof s === 'string' ? { text: s } : s;
          const gt = goldTypeOf(m);
          const type = behaviour.classify ? behaviour.classify(m.text, gt, p.sentence) : (gt ?? 'MISC');
          return shape === 'legacy'
            ? { ...m, type }
            : { text: m.text, type, occurrence: m.occurrence ?? null };
        }),
      };
    }
    default:
      throw new Error(`unknown prompt kind ${schemaName}`);
  }
}

/**
 * Gold entities of a text: of the known sentence itself, else of every known sentence it
 * contains (a chunk packing several sentences), shifted to the text's offsets.
 */
export function goldOf(byText: ReadonlyMap<string, readonly Entity[]>, text: string): readonly Entity[] {
  const exact = byText.get(text);
  if (exact) return exact;
  const out: Entity[] = [];
  for (const [sentence, entities] of byText) {
    if (sentence.length === 0 || sentence.length > text.length) continue;
    for (let at = text.indexOf(sentence); at >= 0; at = text.indexOf(sentence, at + sentence.length))
      for (const e of entities) out.push({ ...e, start: e.start + at, end: e.end + at });
  }
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Gold entities by sentence text, also under the text the models see (unspaced CJK), with offsets into it. */
export function goldByText(docs: readonly NerDocument[]): Map<string, Entity[]> {
  const m = new Map<string, Entity[]>();
  for (const d of docs) {
    m.set(d.text, d.entities);
    const seen = modelDocument(d);
    if (seen.text !== d.text) m.set(seen.text, seen.entities);
  }
  return m;
}

/** An in-process Engine answering instantly from gold (zero latency; for tests and the benchmark). */
export function oracleEngine(
  name: string,
  byText: ReadonlyMap<string, readonly Entity[]>,
  behaviour: Behaviour = {},
  opts: { fail?: (req: ChatRequest) => boolean } = {},
): Engine & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    name,
    identity: `oracle:${name}`,
    requests,
    async chat(req: ChatRequest): Promise<ChatResponse> {
      requests.push(req);
      if (opts.fail?.(req))
        throw Object.assign(new Error(`${name}: scripted failure`), { name: 'EngineError' });
      const json = oracleAnswer(
        byText,
        behaviour,
        req.messages,
        req.jsonSchema?.name ?? '',
        spanShapeOf(req.jsonSchema?.schema),
      );
      const text = JSON.stringify(json);
      const promptChars = req.messages.reduce((a, m) => a + m.content.length, 0);
      return {
        text,
        json,
        usage: {
          promptTokens: Math.ceil(promptChars / 4),
          completionTokens: Math.ceil(text.length / 4),
          cachedPromptTokens: 0,
        },
        latencyMs: 0,
      };
    },
    async embed() {
      throw new Error('oracle engines do not embed');
    },
    async close() {},
  };
}
