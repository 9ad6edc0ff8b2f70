/** `--match`: how `score` and `view` pair predicted documents with gold ones. */
import { InputError } from '../core/errors.js';
import type { InputFormat } from '../formats/types.js';

export const MATCH_HELP =
  'pair documents by "id" or by "order" (default auto: by order when either file is CoNLL, whose ids are positions)';

export function checkMatch(match: string): void {
  if (!['auto', 'id', 'order'].includes(match))
    throw new InputError(`--match must be auto, id or order; got ${JSON.stringify(match)}`);
}

/** The pairing of `--match` for files of these formats (gold, predictions, any other side). */
export function matchBy(match: string, ...formats: Array<InputFormat | undefined>): 'id' | 'order' {
  return match === 'order' || (match === 'auto' && formats.includes('conll')) ? 'order' : 'id';
}
