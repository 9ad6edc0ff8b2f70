/**
 * An OpenAI-compatible HTTP server (the project's scripted server: real HTTP, real wire format)
 * whose models are replayed NER systems (replay-systems.ts: real CRFs with different features,
 * training data and regularisation). It answers the EL4NER prompts as the chosen system would:
 * - pre-extraction and extraction: the system's spans in the asked text;
 * - classification: the system's type for each listed mention (the k-th occurrence when a string
 *   repeats), or `none` when it did not tag that mention; asked for logprobs, the answer comes
 *   with token logprobs whose alternatives at each type are the system's CRF probabilities that
 *   the mention is exactly an entity of each type (soft votes read them);
 * - verification: yes when the system gives that mention that type;
 * - joint extraction: the system's typed entities.
 * The model name picks the system. The sentence of a prompt is mapped back to the system's
 * predictions by its text (a chunk packing several sentences gets the entities of each), the way
 * the oracle maps it to gold: the prompt is read by oracle.ts `parsePrompt`, the one place that
 * knows the prompt layout. A sentence the system never saw gets an empty answer, as a model that
 * finds nothing would give.
 *
 * The errors are the systems' own, correlated as real taggers' errors are: each backbone
 * reproduces its own score through the pipeline, and an ensemble rule is measured on them.
 */
import { alignTokens } from '../../src/core/tokenize.js';
import type { Entity } from '../../src/core/types.js';
import { NONE_TYPE } from '../../src/core/types.js';
import type { ChatMessage, TokenLogprob } from '../../src/engines/types.js';
import { CrfTagger } from '../../src/slm/tagger.js';
import { goldMentions, goldOf, locateItem, type PromptItem, parsePrompt } from './oracle.js';
import { predictionEntities, type ReplaySplit, type ReplaySystem } from './replay-systems.js';
import {
  type ScriptedReply,
  type ScriptedServer,
  scriptByModel,
  startScriptedServer,
} from './scripted-server.js';

/** Entities per sentence text, of one system on the given splits. */
export function systemEntitiesByText(
  system: ReplaySystem,
  splits: readonly ReplaySplit[],
): Map<string, Entity[]> {
  const m = new Map<string, Entity[]>();
  for (const split of splits)
    for (const p of system.predictions[split]) if (!m.has(p.text)) m.set(p.text, predictionEntities(p));
  return m;
}

/** The system's answer (a JSON value) to one EL4NER prompt. */
export function replayAnswer(
  byText: ReadonlyMap<string, readonly Entity[]>,
  messages: readonly ChatMessage[],
  schemaName: string,
): unknown {
  const p = parsePrompt(messages, schemaName);
  const entities = goldOf(byText, p.sentence);
  // The item's mention, read as a model reads "Newmont (occurrence 2 of 2)": the system's type of
  // that very mention, so two mentions it typed differently get their own answers.
  const typeOf = (item: PromptItem) => {
    const at = locateItem(p.sentence, item);
    return at ? entities.find((e) => e.start === at.start && e.end === at.end)?.type : undefined;
  };
  switch (p.kind) {
    case 'prespans':
    case 'spans':
      return { spans: goldMentions(p.sentence, entities) };
    case 'types':
      return { answers: p.items.map((it, i) => ({ id: i + 1, type: typeOf(it) ?? NONE_TYPE })) };
    case 'verdicts':
      return {
        answers: p.items.map((it, i) => ({
          id: i + 1,
          answer: typeOf(it) === it.type ? 'yes' : 'no',
        })),
      };
    case 'entities':
      return {
        entities: goldMentions(p.sentence, entities).map((m, i) => ({
          ...(typeof m === 'string' ? { text: m } : m),
          type: [...entities].sort((a, b) => a.start - b.start)[i].type,
        })),
      };
    default:
      throw new Error(`unknown EL4NER prompt "${schemaName}"`);
  }
}

/**
 * Per listed mention of a classification prompt, the system's probability of each type and of
 * `none`, when the prompt's sentence is one the system tagged and the mention is a span of its
 * tokens; undefined otherwise.
 */
function mentionProbabilities(
  messages: readonly ChatMessage[],
  schemaName: string,
  tokensByText: ReadonlyMap<string, readonly string[]>,
  spanProbabilities: SpanProbabilities,
): Array<Record<string, number> | undefined> {
  const p = parsePrompt(messages, schemaName);
  const words = tokensByText.get(p.sentence);
  if (!words) return p.items.map(() => undefined);
  const tokens = alignTokens(p.sentence, [...words], { allowGaps: true });
  const spans = p.items.map((item) => {
    const at = locateItem(p.sentence, item);
    const start = at ? tokens.findIndex((t) => t.start === at.start) : -1;
    const end = at ? tokens.findIndex((t) => t.end === at.end) : -1;
    return start >= 0 && end >= start ? { start, end: end + 1 } : undefined;
  });
  const known = spans.filter((x): x is { start: number; end: number } => x !== undefined);
  const probs = known.length ? spanProbabilities(words, known) : [];
  let k = 0;
  return spans.map((span) => {
    if (!span) return undefined;
    const types = probs[k++];
    const entity = Object.values(types).reduce((a, x) => a + x, 0);
    return { ...types, [NONE_TYPE]: Math.max(0, 1 - entity) };
  });
}

export interface El4nerReplayOptions {
  /** Splits whose predictions the systems answer from (default: dev and test). */
  splits?: readonly ReplaySplit[];
  /**
   * Models that answer the way many small chat models do: the JSON in a fenced block after a
   * sentence of prose (the answer resolver must dig it out). Default: none.
   */
  chatty?: readonly string[];
  /** A fixed port (default: a free one). */
  port?: number;
}

/** A system's span probabilities (CrfTagger.spanProbabilities) for the sentences it tagged. */
type SpanProbabilities = (
  tokens: readonly string[],
  spans: readonly { start: number; end: number }[],
) => Array<Record<string, number>>;

/**
 * The answer to a classification prompt as text with token logprobs, as a server asked for
 * `logprobs` sends it: each type is written as one token whose alternatives are every label and
 * `none`, with the system's probabilities that the listed mention is exactly an entity of that
 * type (its CRF's span marginals; `none` the rest). A mention that is not a span of the system's
 * tokens gets its written type at probability 1. The JSON is the same as without logprobs.
 */
export function typesAnswerWithLogprobs(
  answer: { answers: Array<{ id: number; type: string }> },
  probabilities: ReadonlyArray<Record<string, number> | undefined>,
): { content: string; logprobs: TokenLogprob[] } {
  const certain = (token: string): TokenLogprob => ({ token, logprob: 0, top: [{ token, logprob: 0 }] });
  const lp = (p: number) => Math.log(Math.min(1, Math.max(1e-9, p)));
  const tokens: TokenLogprob[] = [certain('{"'), certain('answers'), certain('":[')];
  answer.answers.forEach((a, i) => {
    if (i > 0) tokens.push(certain(','));
    tokens.push(certain('{"'), certain('id'), certain('":'), certain(String(a.id)), certain(',"'));
    tokens.push(certain('type'), certain('":"'));
    const dist = probabilities[i];
    tokens.push(
      dist
        ? {
            token: a.type,
            logprob: lp(dist[a.type] ?? 0),
            top: Object.entries(dist)
              .sort((x, y) => y[1] - x[1])
              .map(([t, p]) => ({ token: t, logprob: lp(p) })),
          }
        : certain(a.type),
    );
    tokens.push(certain('"}'));
  });
  tokens.push(certain(']}'));
  const content = tokens.map((t) => t.token).join('');
  if (content !== JSON.stringify(answer)) throw new Error('the tokens do not spell the answer');
  return { content, logprobs: tokens };
}

/** Starts the server: one model per system, named after it. */
/** The config `models` entries for the replayed systems behind `url`, one OpenAI-compatible model each. */
export function replayModels(
  systems: readonly { name: string }[],
  url: string,
  extra: Record<string, unknown> = {},
): Array<Record<string, unknown>> {
  return systems.map((s) => ({
    name: s.name,
    engine: 'openai',
    baseUrl: url,
    model: s.name,
    maxAttempts: 2,
    ...extra,
  }));
}

export async function startEl4nerReplayServer(
  systems: readonly ReplaySystem[],
  opts: El4nerReplayOptions = {},
): Promise<ScriptedServer> {
  const splits = opts.splits ?? ['dev', 'test'];
  const chatty = new Set(opts.chatty ?? []);
  const handlers = Object.fromEntries(
    systems.map((s) => {
      const byText = systemEntitiesByText(s, splits);
      const tokensByText = new Map(
        splits.flatMap((split) => s.predictions[split].map((p) => [p.text, p.tokens] as const)),
      );
      let tagger: Promise<CrfTagger> | undefined;
      return [
        s.name,
        async (req: {
          messages: ChatMessage[];
          body: { response_format?: { json_schema?: { name?: string } }; logprobs?: boolean };
        }) => {
          const schemaName = req.body?.response_format?.json_schema?.name ?? '';
          const json = replayAnswer(byText, req.messages, schemaName);
          if (req.body?.logprobs && schemaName === 'types' && !chatty.has(s.name)) {
            tagger ??= CrfTagger.load(s.modelFile);
            const t = await tagger;
            const spanProbabilities: SpanProbabilities = (tokens, spans) =>
              t.spanProbabilities(tokens, spans);
            return typesAnswerWithLogprobs(
              json as { answers: Array<{ id: number; type: string }> },
              mentionProbabilities(req.messages, schemaName, tokensByText, spanProbabilities),
            );
          }
          const reply: ScriptedReply = chatty.has(s.name)
            ? { content: `Here is the answer:\n\`\`\`json\n${JSON.stringify(json, null, 1)}\n\`\`\`` }
            : { json };
          return reply;
        },
      ];
    }),
  );
  return startScriptedServer({ chat: scriptByModel(handlers), port: opts.port });
}
