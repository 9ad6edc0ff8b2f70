/**
 * A small-model behaviour simulator: a real OpenAI-compatible HTTP server (scripted-server.ts)
 * whose models answer EL4NER prompts like 7-14B instruct models served without an enforced
 * schema do.
 *
 * Underneath is a noisy oracle (oracle.ts, reading the prompt as a model would): per model, it
 * misses some gold entities, proposes some non-entities (a capitalised word, a part of a
 * multi-word name, a number), types some spans wrongly, and errs in some verdicts; the noise is a
 * fixed function of (seed, model, sentence, item), as a model at temperature 0 answers the same
 * question the same way.
 *
 * On top, a share `rate` of the answers misbehaves in one of the ways small models do (chosen per
 * request, so a re-ask is a new draw): prose around the JSON, a code fence, synonyms for the labels
 * (`Person` for PER), an out-of-set type, a bare array, a `{span: type}` map, booleans for yes/no,
 * answers without ids, truncated JSON, spans with changed case or spacing, a hallucinated span,
 * another key or plain strings for spans. Every answer is also cut at the request's `max_tokens`
 * (four characters a token), as a server stops a long answer.
 */
import { nameSpan } from '../../src/answers/grounding.js';
import { mulberry32 } from '../../src/core/random.js';
import type { Entity, NerDocument } from '../../src/core/types.js';
import { NONE_TYPE } from '../../src/core/types.js';
import { type Behaviour, goldByText, oracleAnswer, type ParsedPrompt, parsePrompt } from './oracle.js';
import { requestSpanShape, schemaName } from './oracle-server.js';
import { type ScriptedRequest, type ScriptedServer, startScriptedServer } from './scripted-server.js';

export const MISBEHAVIOURS = [
  'prose',
  'fence',
  'synonym-types',
  'out-of-set-type',
  'bare-array',
  'span-map',
  'boolean-verdicts',
  'missing-ids',
  'truncated',
  'changed-spans',
  'hallucinated-span',
  'other-shape',
] as const;
export type Misbehaviour = (typeof MISBEHAVIOURS)[number];

/** Which misbehaviours can happen to an answer of each prompt kind. */
const APPLIES: Record<string, readonly Misbehaviour[]> = {
  prespans: [
    'prose',
    'fence',
    'bare-array',
    'truncated',
    'changed-spans',
    'hallucinated-span',
    'other-shape',
  ],
  spans: ['prose', 'fence', 'bare-array', 'truncated', 'changed-spans', 'hallucinated-span', 'other-shape'],
  types: [
    'prose',
    'fence',
    'synonym-types',
    'out-of-set-type',
    'bare-array',
    'span-map',
    'missing-ids',
    'truncated',
  ],
  verdicts: ['prose', 'fence', 'bare-array', 'span-map', 'boolean-verdicts', 'missing-ids', 'truncated'],
  entities: [
    'prose',
    'fence',
    'synonym-types',
    'out-of-set-type',
    'bare-array',
    'span-map',
    'truncated',
    'changed-spans',
    'hallucinated-span',
  ],
};

export interface NoiseOptions {
  /** Chance that a model misses a gold entity. */
  miss: number;
  /** Chance that a model proposes one non-entity span in a sentence. */
  spurious: number;
  /** Chance that a model types a gold entity wrongly (another label, or none). */
  wrongType: number;
  /** Chance that a model types a non-entity span as an entity. */
  falseType: number;
  /** Chance that a verdict is wrong. */
  wrongVerdict: number;
}

export const DEFAULT_NOISE: NoiseOptions = {
  miss: 0.08,
  spurious: 0.25,
  wrongType: 0.06,
  falseType: 0.15,
  wrongVerdict: 0.05,
};

export interface SmallModelOptions {
  gold: readonly NerDocument[];
  /** Share of answers that misbehave, 0..1. */
  rate: number;
  seed?: number;
  noise?: Partial<NoiseOptions>;
  /** The misbehaviours to draw from (default: all). */
  kinds?: readonly Misbehaviour[];
}

export interface SmallModelStats {
  answers: number;
  /** Requests that continue a conversation after an unusable answer (re-asks). */
  reasks: number;
  misbehaved: Partial<Record<Misbehaviour, number>>;
  /** Answers cut at the request's max_tokens. */
  cutAtMaxTokens: number;
}

export interface SmallModelServer extends ScriptedServer {
  stats: SmallModelStats;
}

function hash(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const s = `${p}\u0001`;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** A uniform number in [0, 1) fixed by its key. */
const draw = (...key: Array<string | number>) => mulberry32(hash(...key))();

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'.-]*/gu;

/** The noisy oracle of one model: what it would answer if it always kept to the format. */
export function noisyBehaviour(
  model: string,
  labels: () => readonly string[],
  seed: number,
  noise: NoiseOptions,
): Behaviour {
  const otherLabel = (not: string | undefined, ...key: Array<string | number>) => {
    const ls = labels().filter((l) => l !== not);
    return ls.length ? ls[Math.floor(draw(seed, model, 'label', ...key) * ls.length)] : NONE_TYPE;
  };
  return {
    extract(gold: readonly Entity[], sentence: string) {
      const out: Array<{ text: string; occurrence?: number } | string> = [];
      const sorted = [...gold].sort((a, b) => a.start - b.start);
      for (const e of sorted) {
        if (draw(seed, model, 'miss', sentence, e.start) < noise.miss) continue;
        const n = nameSpan(sentence, e);
        out.push(n.occurrence !== undefined ? { text: n.text, occurrence: n.occurrence } : n.text);
      }
      if (draw(seed, model, 'spurious', sentence) < noise.spurious) {
        const inGold = (s: number, t: number) => gold.some((g) => s < g.end && t > g.start);
        const words = [...sentence.matchAll(WORD)].filter((m) => !inGold(m.index, m.index + m[0].length));
        const capital = words.filter((m) => /^\p{Lu}/u.test(m[0]) && m.index > 0);
        const multi = sorted.filter((e) => e.text.includes(' '));
        const r = draw(seed, model, 'which', sentence);
        if (multi.length && r < 0.3) out.push(multi[0].text.split(' ').at(-1)!);
        else if (capital.length) out.push(capital[Math.floor(r * capital.length)][0]);
        else if (words.length) out.push(words[Math.floor(r * words.length)][0]);
      }
      return out.filter(
        (m, i) => out.findIndex((x) => JSON.stringify(x) === JSON.stringify(m)) === i,
      ) as Array<string | { text: string; occurrence?: number }>;
    },
    classify(span, goldType, sentence) {
      const r = draw(seed, model, 'type', sentence, span);
      if (goldType !== undefined) {
        if (r >= noise.wrongType) return goldType;
        return r < noise.wrongType / 3 ? NONE_TYPE : otherLabel(goldType, sentence, span);
      }
      return r < noise.falseType ? otherLabel(undefined, sentence, span) : NONE_TYPE;
    },
    verify(span, type, goldType) {
      const right = goldType === type;
      const wrong = draw(seed, model, 'verdict', span, type) < noise.wrongVerdict;
      return wrong ? !right : right;
    },
  };
}

const SYNONYM: Record<string, string> = {
  PER: 'Person',
  LOC: 'Location',
  ORG: 'Organization',
  MISC: 'Miscellaneous',
  person: 'Person',
  location: 'Place',
  organisation: 'Organization',
};
const OUT_OF_SET = ['EVENT', 'NORP', 'DATE', 'TITLE', 'Thing', 'PRODUCT'];

type Json = Record<string, unknown>;

/** The answer after one misbehaviour (a JSON value, or text). */
function misbehave(kind: Misbehaviour, json: Json, prompt: ParsedPrompt, r: () => number): unknown {
  const sentence = prompt.sentence;
  const spans = json.spans as Array<string | { text: string; occurrence: number | null }> | undefined;
  const legacy = spans?.some((x) => typeof x === 'string') ?? false;
  const answers = json.answers as Array<Record<string, unknown>> | undefined;
  const entities = json.entities as
    | Array<{ text: string; type: string; occurrence: number | null }>
    | undefined;
  switch (kind) {
    case 'prose':
      return `Sure! Here are the results for the sentence:\n${JSON.stringify(json)}\nLet me know if you need anything else.`;
    case 'fence':
      return `\`\`\`json\n${JSON.stringify(json, null, 2)}\n\`\`\``;
    case 'synonym-types':
      if (answers)
        return { answers: answers.map((a) => ({ ...a, type: SYNONYM[String(a.type)] ?? a.type })) };
      return { entities: entities?.map((e) => ({ ...e, type: SYNONYM[e.type] ?? e.type })) };
    case 'out-of-set-type': {
      const list = answers ?? entities ?? [];
      const i = Math.floor(r() * list.length);
      const t = OUT_OF_SET[Math.floor(r() * OUT_OF_SET.length)];
      const changed = list.map((a, j) => (j === i ? { ...a, type: t } : a));
      return answers ? { answers: changed } : { entities: changed };
    }
    case 'bare-array':
      return spans ?? answers ?? entities ?? [];
    case 'span-map':
      // a map loses repeated spans, as it does from real models
      if (entities) return Object.fromEntries(entities.map((e) => [e.text, e.type]));
      if (answers?.[0] && 'answer' in answers[0])
        return Object.fromEntries(answers.map((a) => [String(a.id), a.answer]));
      return Object.fromEntries(
        (answers ?? []).map((a, i) => [prompt.items[i]?.text ?? String(a.id), a.type]),
      );
    case 'boolean-verdicts':
      return { answers: answers?.map((a) => ({ id: a.id, answer: a.answer === 'yes' })) };
    case 'missing-ids':
      return { answers: answers?.map(({ id: _id, ...rest }) => rest) };
    case 'truncated': {
      const text = JSON.stringify(json);
      return text.slice(0, Math.max(1, Math.floor(text.length * (0.4 + 0.5 * r()))));
    }
    case 'changed-spans': {
      const change = (t: string) =>
        r() < 0.5 ? t.toLowerCase() : t.includes(' ') ? t.replace(' ', '  ') : `${t.toUpperCase()}.`;
      if (spans)
        return {
          spans: spans.map((s) => (typeof s === 'string' ? change(s) : { ...s, text: change(s.text) })),
        };
      return { entities: entities?.map((e) => ({ ...e, text: change(e.text) })) };
    }
    case 'hallucinated-span': {
      const invented = r() < 0.5 ? 'United Nations' : `${sentence.split(' ')[0]}ville`;
      if (spans) return { spans: [...spans, legacy ? invented : { text: invented, occurrence: null }] };
      return { entities: [...(entities ?? []), { text: invented, type: 'ORG', occurrence: null }] };
    }
    case 'other-shape':
      return r() < 0.5
        ? { entities: spans }
        : { spans: spans?.map((s) => (typeof s === 'string' ? { text: s } : s.text)) };
  }
}

export async function startSmallModelServer(opts: SmallModelOptions): Promise<SmallModelServer> {
  const byText = goldByText(opts.gold);
  const seed = opts.seed ?? 7;
  const noise = { ...DEFAULT_NOISE, ...opts.noise };
  const kinds = new Set(opts.kinds ?? MISBEHAVIOURS);
  const behaviours = new Map<string, Behaviour>();
  const stats: SmallModelStats = { answers: 0, reasks: 0, misbehaved: {}, cutAtMaxTokens: 0 };
  let labels: readonly string[] = [];
  const answer = (req: ScriptedRequest) => {
    const kind = schemaName(req);
    const prompt = parsePrompt(req.messages, kind);
    if (prompt.labels.length) labels = prompt.labels;
    let b = behaviours.get(req.model);
    if (!b) {
      b = noisyBehaviour(req.model, () => labels, seed, noise);
      behaviours.set(req.model, b);
    }
    stats.answers++;
    if (req.messages.some((m) => m.role === 'assistant')) stats.reasks++;
    const clean = oracleAnswer(byText, b, req.messages, kind, requestSpanShape(req)) as Json;
    const key = JSON.stringify(req.messages);
    let out: unknown = clean;
    if (draw(seed, req.model, 'misbehave', key) < opts.rate) {
      const applicable = (APPLIES[kind] ?? []).filter((k) => kinds.has(k));
      if (applicable.length) {
        const which = applicable[Math.floor(draw(seed, req.model, 'kind', key) * applicable.length)];
        stats.misbehaved[which] = (stats.misbehaved[which] ?? 0) + 1;
        const rng = mulberry32(hash(seed, req.model, 'detail', key));
        out = misbehave(which, clean, prompt, rng);
      }
    }
    let content = typeof out === 'string' ? out : JSON.stringify(out);
    const maxTokens = Number(req.body?.max_tokens);
    if (Number.isFinite(maxTokens) && maxTokens > 0 && content.length > maxTokens * 4) {
      content = content.slice(0, maxTokens * 4);
      stats.cutAtMaxTokens++;
    }
    return { content };
  };
  const server = await startScriptedServer({ chat: answer });
  return Object.assign(server, { stats });
}
