/**
 * An OpenAI-compatible HTTP server (the project's scripted server: real HTTP, real wire format)
 * that answers fusion's inline-tagging prompt as a real tagger did: the model name picks a
 * system from replay-systems.ts, the last user message picks the sentence, and the answer is
 * the sentence rewritten with that system's entities tagged inline, with token logprobs derived
 * from the system's own marginals.
 *
 * Each choice the model makes while writing gets the system's probability for it:
 * - before a word outside an entity, open a tag or not: ` <` gets P_open = the summed marginal of
 *   the begin labels (B-X, S-X) at the word, the word gets 1 - P_open; both are listed as top
 *   alternatives, so "not opening a tag" has a probability;
 * - the type inside the opening tag: m(B-X) / P_open (so `<` then `X` multiply to m(B-X)), the
 *   other types as alternatives;
 * - after a word inside an entity, close the tag or go on: the next word gets the summed
 *   marginal of its continue labels (I-X, E-X, M-X) for the entity's type, `</` the rest;
 * - everything that is plain copying (`>`, the closing type name, the rest of a long word,
 *   which is cut in BPE-like pieces) is near-certain.
 * These are marginals, not the conditionals a real LLM would have given its own prefix: the
 * point is that the probabilities come from the system and mean what they would mean.
 */
import { alignTokens } from '../../src/core/tokenize.js';
import type { TokenLogprob } from '../../src/engines/types.js';
import type { ReplaySystem, SystemPrediction } from './replay-systems.js';
import {
  type ScriptedReply,
  type ScriptedRequest,
  type ScriptedServer,
  startScriptedServer,
} from './scripted-server.js';

const SURE = 0.9995;
const FLOOR = 1e-6;
/** Longest word piece, in code points. */
const PIECE = 6;

interface LabelIndex {
  types: string[];
  begin: Map<string, number[]>;
  cont: Map<string, number[]>;
}

function labelIndex(labels: readonly string[]): LabelIndex {
  const begin = new Map<string, number[]>();
  const cont = new Map<string, number[]>();
  const types: string[] = [];
  labels.forEach((l, i) => {
    const m = /^([BIEMSLU])[-_](.+)$/.exec(l);
    if (!m) return;
    const type = m[2];
    if (!types.includes(type)) types.push(type);
    const into = 'BSU'.includes(m[1]) ? begin : cont;
    const list = into.get(type) ?? [];
    list.push(i);
    into.set(type, list);
  });
  return { types, begin, cont };
}

const sum = (m: readonly number[], idx: readonly number[] | undefined) =>
  (idx ?? []).reduce((a, i) => a + (m[i] ?? 0), 0);

const clamp = (p: number) => Math.min(1, Math.max(FLOOR, p));

function piecesOf(word: string): string[] {
  const cps = Array.from(word);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += PIECE) out.push(cps.slice(i, i + PIECE).join(''));
  return out.length ? out : [word];
}

/** The inline-tagged rewrite of a system's sentence, with logprobs and top alternatives. */
export function replayInlineAnswer(
  pred: SystemPrediction,
  labels: readonly string[],
): { content: string; logprobs: TokenLogprob[] } {
  const idx = labelIndex(labels);
  const tokens = alignTokens(pred.text, pred.tokens, { allowGaps: true });
  const out: TokenLogprob[] = [];
  const emit = (token: string, p: number, alternatives: Array<[string, number]> = []) => {
    out.push({
      token,
      logprob: Math.log(clamp(p)),
      top: [[token, p] as [string, number], ...alternatives]
        .sort((a, b) => b[1] - a[1])
        .map(([t, q]) => ({ token: t, logprob: Math.log(clamp(q)) })),
    });
  };
  const types = idx.types;
  const openMass = (m: readonly number[]) =>
    Math.min(
      1,
      types.reduce((a, t) => a + sum(m, idx.begin.get(t)), 0),
    );
  // Entity per token from the Viterbi tags: which type, and whether it starts or ends there.
  const n = tokens.length;
  const typeAt = new Array<string | undefined>(n).fill(undefined);
  const startsAt = new Array<boolean>(n).fill(false);
  for (let i = 0; i < n; i++) {
    const m = /^([BIEMSLU])[-_](.+)$/.exec(pred.tags[i]);
    if (!m) continue;
    const t = m[2];
    const cont = 'IEML'.includes(m[1]) && i > 0 && typeAt[i - 1] === t && !/^[ESLU]/.test(pred.tags[i - 1]);
    typeAt[i] = t;
    startsAt[i] = !cont;
  }
  const endsAt = (i: number) =>
    typeAt[i] !== undefined && (i + 1 >= n || startsAt[i + 1] || typeAt[i + 1] !== typeAt[i]);

  let cursor = 0;
  for (let i = 0; i < n; i++) {
    const sep = pred.text.slice(cursor, tokens[i].start);
    cursor = tokens[i].end;
    const [first, ...rest] = piecesOf(tokens[i].text);
    const m = pred.marginals[i];
    const t = typeAt[i];
    if (t !== undefined && startsAt[i]) {
      const open = openMass(m);
      emit(`${sep}<`, open, [[`${sep}${first}`, 1 - open]]);
      const cond = (x: string) => (open > 0 ? sum(m, idx.begin.get(x)) / open : 1 / types.length);
      emit(
        t,
        cond(t),
        types.filter((x) => x !== t).map((x) => [x, cond(x)] as [string, number]),
      );
      emit('>', SURE);
      emit(first, SURE);
    } else if (t !== undefined) {
      const go = sum(m, idx.cont.get(t));
      emit(`${sep}${first}`, go, [['</', 1 - go]]);
    } else {
      const open = openMass(m);
      emit(`${sep}${first}`, 1 - open, [[`${sep}<`, open]]);
    }
    for (const piece of rest) emit(piece, SURE);
    if (t !== undefined && endsAt(i)) {
      const nextGoesOn = i + 1 < n ? sum(pred.marginals[i + 1], idx.cont.get(t)) : 1 - SURE;
      const nextFirst =
        i + 1 < n ? `${pred.text.slice(cursor, tokens[i + 1].start)}${piecesOf(tokens[i + 1].text)[0]}` : '';
      emit('</', 1 - nextGoesOn, nextFirst ? [[nextFirst, nextGoesOn]] : []);
      emit(t, SURE);
      emit('>', SURE);
    }
  }
  if (cursor < pred.text.length) emit(pred.text.slice(cursor), SURE);
  return { content: out.map((o) => o.token).join(''), logprobs: out };
}

export interface ReplayServerOptions {
  /**
   * Answers a request for one system's sentence (default: the inline-tagging answer). The
   * ensemble replay can answer the EL4NER prompts here.
   */
  answer?: (system: ReplaySystem, pred: SystemPrediction, req: ScriptedRequest) => ScriptedReply;
}

function lastUser(req: ScriptedRequest): string {
  const m = req.messages.filter((x) => x.role === 'user').at(-1);
  return typeof m?.content === 'string' ? m.content : '';
}

/** Starts the server; each system answers under its name as the model. */
export async function startReplayServer(
  systems: readonly ReplaySystem[],
  options: ReplayServerOptions = {},
): Promise<ScriptedServer> {
  const bySystem = new Map<string, { system: ReplaySystem; byText: Map<string, SystemPrediction> }>();
  for (const system of systems) {
    const byText = new Map<string, SystemPrediction>();
    for (const split of Object.values(system.predictions)) for (const p of split) byText.set(p.text, p);
    bySystem.set(system.name, { system, byText });
  }
  return startScriptedServer({
    chat: (req) => {
      const entry = bySystem.get(req.model);
      if (!entry) {
        return {
          status: 404,
          errorBody: {
            error: { message: `model "${req.model}" does not exist`, type: 'invalid_request_error' },
          },
        };
      }
      const pred = entry.byText.get(lastUser(req));
      if (!pred) {
        return {
          status: 400,
          errorBody: {
            error: { message: 'the replayed system never tagged this text', type: 'invalid_request_error' },
          },
        };
      }
      if (options.answer) return options.answer(entry.system, pred, req);
      const a = replayInlineAnswer(pred, entry.system.labels);
      return req.body?.logprobs ? a : { content: a.content };
    },
  });
}
