/**
 * The start-up check of the context window: a model with a fixed context (the embedded GGUF
 * engine's `contextSize`) that cannot hold even the smallest prompt of the run (the instructions
 * and labels plus k demonstrations, before any sentence) would fail every document one by one.
 * That is known before the first document, so the method is refused at once with what to raise.
 * Loading the model for it also shows a file that cannot be loaded, before the first document.
 */
import { ConfigError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import { verifies } from '../el4ner/pipeline.js';
import { STEPS, stageMessages } from '../el4ner/prompts.js';
import { extractors } from '../el4ner/stages/extract.js';
import type { El4nerParts } from '../el4ner/state.js';

/** Tokens kept free for a short sentence and its answer in the suggested context size. */
const SENTENCE_AND_ANSWER = 512;

/** The `k` pool sentences with the shortest texts: the demonstrations of the smallest prompt. */
function shortestDemos(docs: readonly NerDocument[], k: number): NerDocument[] {
  return [...docs].sort((a, b) => a.text.length - b.text.length).slice(0, k);
}

type Parts = Pick<
  El4nerParts,
  | 'engines'
  | 'labels'
  | 'descriptions'
  | 'backbones'
  | 'verifier'
  | 'singleModel'
  | 'switches'
  | 'verification'
  | 'k'
  | 'demos'
>;

/** Throws a ConfigError naming the model, its contextSize and the size it needs. */
export async function assertPromptsFit(parts: Parts): Promise<void> {
  const models = new Set([...extractors(parts), ...(verifies(parts) ? [parts.verifier] : [])]);
  // only engines with a fixed context are checked; the pool is not read for the others
  const fixedContext = [...models].filter((name) => parts.engines.get(name)?.promptFit);
  if (fixedContext.length === 0) return;
  const step = parts.switches.decomposition ? STEPS.find : STEPS.joint;
  const ctx = { labels: parts.labels, descriptions: parts.descriptions };
  const fewShot = parts.demos && parts.k > 0 && parts.demos.size > 0;
  const demos = fewShot ? shortestDemos(parts.demos!.docs(), parts.k) : [];
  for (const name of fixedContext) {
    const engine = parts.engines.get(name)!;
    if (!engine.promptFit) continue;
    let fixed: { tokens: number; contextSize: number };
    let withDemos: { tokens: number };
    try {
      fixed = await engine.promptFit(stageMessages(ctx, '', step));
      withDemos = demos.length ? await engine.promptFit(stageMessages({ ...ctx, demos }, '', step)) : fixed;
    } catch (e) {
      // a missing file or a download that cannot be made is the start-up checks' to report
      // (--no-preflight: each document fails, as asked); a file that is there but does not load
      // (truncated, another architecture) would fail every document: say so now
      if (e instanceof ConfigError) continue;
      throw new ConfigError(
        `model "${name}": ${(e as Error).message} (a truncated or broken GGUF file, or a model this llama.cpp cannot run)`,
      );
    }
    // the engine refuses a prompt that leaves no token for the answer
    if (withDemos.tokens + 1 < fixed.contextSize) continue;
    const demoPart = demos.length
      ? ` and ${demos.length} demonstration(s) (retrieval.k = ${parts.k}) at least ${withDemos.tokens - fixed.tokens} more`
      : '';
    throw new ConfigError(
      `model "${name}": contextSize ${fixed.contextSize} is too small for its prompts: the instructions and labels take ` +
        `${fixed.tokens} tokens${demoPart}, ${withDemos.tokens} before any sentence or answer; ` +
        `raise contextSize in the config to ${withDemos.tokens + SENTENCE_AND_ANSWER} or more` +
        (demos.length ? ', or lower retrieval.k' : ''),
    );
  }
}
