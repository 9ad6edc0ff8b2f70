/**
 * An OpenAI-compatible HTTP server (the project's scripted server: real HTTP, real wire format)
 * whose models are replayed NER systems (replay-systems.ts: real CRFs with different features,
 * training data and regularisation). It answers the EL4NER prompts as the chosen system would:
 * - pre-extraction and extraction: the system's spans in the asked text;
 * - classification: the system's type for each listed mention (the k-th occurrence when a string
 *   repeats), or `none` when it did not tag that mention;
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
import type { Entity } from '../../src/core/types.js';
import { NONE_TYPE } from '../../src/core/types.js';
import type { ChatMessage } from '../../src/engines/types.js';
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

/** Starts the server: one model per system, named after it. */
export async function startEl4nerReplayServer(
  systems: readonly ReplaySystem[],
  opts: El4nerReplayOptions = {},
): Promise<ScriptedServer> {
  const splits = opts.splits ?? ['dev', 'test'];
  const chatty = new Set(opts.chatty ?? []);
  const handlers = Object.fromEntries(
    systems.map((s) => {
      const byText = systemEntitiesByText(s, splits);
      return [
        s.name,
        (req: {
          messages: ChatMessage[];
          body: { response_format?: { json_schema?: { name?: string } } };
        }) => {
          const json = replayAnswer(byText, req.messages, req.body?.response_format?.json_schema?.name ?? '');
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
