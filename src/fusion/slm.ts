/**
 * What fusion needs from the supervised small tagger (SLM): its label set and, per token, the
 * tag it chose with the marginal distribution over `labels`. The CRF and the ONNX token classifier
 * (`loadSlm` in `src/slm/load.ts`) fit this shape; tests use small in-memory taggers.
 */
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
  /** The CRF answers at once; a transformer tagger batches concurrent calls and answers later. */
  tagTokens(tokens: string[]): SlmTagging | Promise<SlmTagging>;
}

/** The entity types an SLM knows, from its labels (prefixes stripped, 'O' left out), in label order. */
export function slmTypes(labels: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of labels) {
    if (l === 'O') continue;
    const m = /^[BIEMSLU][-_](.+)$/.exec(l);
    const t = m ? m[1] : l;
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** The type of a tag without its prefix; 'O' for outside. */
export function tagType(tag: string): string {
  if (tag === 'O') return 'O';
  const m = /^[BIEMSLU][-_](.+)$/.exec(tag);
  return m ? m[1] : tag;
}
