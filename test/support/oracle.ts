/**
 * Test and benchmark helpers: backbones that answer the pipeline's prompts from gold annotations,
 * with configurable error patterns, as an in-process Engine or as a scripted-server handler.
 * They read the prompt the way a model would (the sentence and the numbered items come last).
 */
import type { Entity, NerDocument } from '../../src/core/types.js';
import { NONE_TYPE } from '../../src/core/types.js';
import type { ChatMessage, ChatRequest, ChatResponse, Engine } from '../../src/engines/types.js';

export type PromptKind = 'prespans' | 'spans' | 'types' | 'verdicts' | 'entities';

export interface ParsedPrompt {
  kind: PromptKind;
  sentence: string;
  /** Numbered items (classification spans / verification entities). */
  items: Array<{ text: string; type?: string }>;
}

/** Reads the stage, the sentence and the numbered items from a pipeline prompt. */
export function parsePrompt(messages: readonly ChatMessage[], schemaName: string): ParsedPrompt {
  const user = messages.filter((m) => m.role === 'user').at(0)?.content ?? '';
  const at = user.lastIndexOf('Sentence: ');
  const rest = user.slice(at + 'Sentence: '.length);
  // The sentence (it may span lines) ends where the item list or the answer cue begins.
  const ends = ['\nSpans:\n', '\nEntities:\n', '\nAnswer:']
    .map((m) => rest.lastIndexOf(m))
    .filter((i) => i >= 0);
  const nl = ends.length ? Math.min(...ends) : rest.length;
  const sentence = rest.slice(0, nl);
  const items: ParsedPrompt['items'] = [];
  for (const line of rest.slice(nl + 1).split('\n')) {
    const m = /^(\d+)\. (.*)$/.exec(line);
    if (!m) continue;
    if (schemaName === 'verdicts') {
      const t = /^(.*) \(([^()]*)\)$/.exec(m[2]);
      items.push(t ? { text: t[1], type: t[2] } : { text: m[2] });
    } else items.push({ text: m[2] });
  }
  return { kind: schemaName as PromptKind, sentence, items };
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

function occurrenceOf(text: string, e: Entity): number {
  let k = 0;
  let i = text.indexOf(e.text);
  while (i >= 0 && i < e.start) {
    k++;
    i = text.indexOf(e.text, i + 1);
  }
  return k + 1;
}

/** Gold entity strings of a sentence, with occurrence indexes where a string repeats. */
export function goldMentions(sentence: string, gold: readonly Entity[]) {
  return [...gold]
    .sort((a, b) => a.start - b.start)
    .map((e) =>
      sentence.indexOf(e.text) !== sentence.lastIndexOf(e.text)
        ? { text: e.text, occurrence: occurrenceOf(sentence, e) }
        : e.text,
    );
}

/** Answers one prompt from gold. Unknown sentences get empty answers. */
export function oracleAnswer(
  byText: ReadonlyMap<string, readonly Entity[]>,
  behaviour: Behaviour,
  messages: readonly ChatMessage[],
  schemaName: string,
): unknown {
  const p = parsePrompt(messages, schemaName);
  const gold = goldOf(byText, p.sentence);
  const goldTypeOf = (span: string) => gold.find((e) => e.text === span)?.type;
  switch (p.kind) {
    case 'prespans':
    case 'spans':
      return {
        spans: behaviour.extract ? behaviour.extract(gold, p.sentence) : goldMentions(p.sentence, gold),
      };
    case 'types':
      return {
        answers: p.items.map((it, i) => {
          const gt = goldTypeOf(it.text);
          return {
            id: i + 1,
            type: behaviour.classify ? behaviour.classify(it.text, gt, p.sentence) : (gt ?? NONE_TYPE),
          };
        }),
      };
    case 'verdicts':
      return {
        answers: p.items.map((it, i) => {
          const gt = goldTypeOf(it.text);
          const ok = behaviour.verify ? behaviour.verify(it.text, it.type ?? '', gt) : gt === it.type;
          return { id: i + 1, answer: ok ? 'yes' : 'no' };
        }),
      };
    case 'entities': {
      const spans = behaviour.extract ? behaviour.extract(gold, p.sentence) : goldMentions(p.sentence, gold);
      return {
        entities: spans.map((s) => {
          const m = typeof s === 'string' ? { text: s } : s;
          const gt = goldTypeOf(m.text);
          return {
            ...m,
            type: behaviour.classify ? behaviour.classify(m.text, gt, p.sentence) : (gt ?? 'MISC'),
          };
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

export function goldByText(docs: readonly NerDocument[]): Map<string, Entity[]> {
  const m = new Map<string, Entity[]>();
  for (const d of docs) m.set(d.text, d.entities);
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
      const json = oracleAnswer(byText, behaviour, req.messages, req.jsonSchema?.name ?? '');
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
