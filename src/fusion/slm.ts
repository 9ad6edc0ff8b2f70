/**
 * What fusion needs from the supervised small tagger (SLM): its label set and, per token, the
 * tag it chose with the marginal distribution over `labels`. The CRF and the ONNX token classifier
 * (`loadSlm` in `src/slm/load.ts`) fit this shape; tests use small in-memory taggers.
 */
import type { DocumentContext } from '../core/context.js';
import type { TagScheme } from '../core/types.js';

export interface SlmTagging {
  tags: string[];
  /** One distribution over `labels` per token (sums to 1). */
  marginals: Float64Array[];
}

export interface SlmLike {
  /** Full tags, e.g. ['O', 'B-PER', 'I-PER', ...]. */
  readonly labels: readonly string[];
  /** The scheme the SLM writes (BIO when not given). */
  readonly scheme?: TagScheme;
  /** Whether tagTokens reads a document's context (the CRF's document features). */
  readonly readsContext?: boolean;
  /** The CRF answers at once; a transformer tagger batches concurrent calls and answers later. */
  tagTokens(tokens: string[], context?: DocumentContext): SlmTagging | Promise<SlmTagging>;
}

export { slmTypes, tagType } from '../core/tags.js';
