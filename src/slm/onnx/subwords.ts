/**
 * The model's own tokenizer, read from `tokenizer.json` by `@huggingface/tokenizers` (WordPiece,
 * byte-level or SentencePiece BPE, Unigram). Words are encoded one at a time, as the Hugging Face
 * token-classification scripts do with `is_split_into_words=True`, so every subword token knows its
 * word; the special tokens the post-processor puts around a sequence are read once and put around
 * each window.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFolderError } from './errors.js';
import { readJsonFile } from './model-config.js';

export type SubwordModel = 'WordPiece' | 'BPE' | 'Unigram';
const MODELS: readonly SubwordModel[] = ['WordPiece', 'BPE', 'Unigram'];

export interface SubwordTokenizer {
  readonly model: SubwordModel;
  /** Special token ids before and after the subwords of a window ([CLS] ... [SEP], <s> ... </s>). */
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
  readonly padId: number;
  /** Subword ids of one word; a word the tokenizer erases entirely becomes the unknown token. */
  encodeWord(word: string): readonly number[];
  /** Token strings of ids (for messages and tests). */
  tokens(ids: readonly number[]): string[];
}

function hasByteLevel(node: unknown): boolean {
  if (!node || typeof node !== 'object') return false;
  const n = node as { type?: unknown; pretokenizers?: unknown[] };
  if (n.type === 'ByteLevel') return true;
  return Array.isArray(n.pretokenizers) && n.pretokenizers.some(hasByteLevel);
}

/** The ids of `inner` inside `outer` give the special tokens before and after it. */
function specialsAround(
  outer: number[],
  inner: number[],
): { prefix: number[]; suffix: number[] } | undefined {
  for (let i = 0; i + inner.length <= outer.length; i++) {
    if (inner.every((id, k) => outer[i + k] === id))
      return { prefix: outer.slice(0, i), suffix: outer.slice(i + inner.length) };
  }
  return undefined;
}

const CACHE_LIMIT = 100_000;

export function readSubwordTokenizer(
  file: string,
  tokenizerConfigFile: string,
  padTokenId: number | undefined,
): SubwordTokenizer {
  const json = readJsonFile(file)!;
  const model = json.model as { type?: unknown } | undefined;
  if (!model || typeof model !== 'object') throw new ModelFolderError(file, 'model', 'missing');
  if (!MODELS.includes(model.type as SubwordModel))
    throw new ModelFolderError(
      file,
      'model.type',
      `${JSON.stringify(model.type)} is not a tokenizer model this tool reads (${MODELS.join(', ')})`,
    );
  const tokCfg = readJsonFile(tokenizerConfigFile, true) ?? {};
  let tok: Tokenizer;
  try {
    // The library wants every top-level key the Rust library writes, present or null.
    tok = new Tokenizer(
      {
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: null,
        post_processor: null,
        decoder: null,
        ...json,
      },
      tokCfg,
    );
  } catch (e) {
    throw new ModelFolderError(file, undefined, `cannot read this tokenizer: ${(e as Error).message}`);
  }
  // Byte-level BPE spells the space before a word into the word's first token: every word gets
  // one, as `add_prefix_space=True` gives each word with `is_split_into_words` in fine-tuning.
  const lead = hasByteLevel(json.pre_tokenizer) ? ' ' : '';
  const encode = (text: string, specials: boolean) => {
    try {
      return tok.encode(text, { add_special_tokens: specials }).ids;
    } catch (e) {
      throw new ModelFolderError(
        file,
        undefined,
        `cannot encode ${JSON.stringify(text)}: ${(e as Error).message}`,
      );
    }
  };
  const probe = `${lead}a`;
  const around = specialsAround(encode(probe, true), encode(probe, false));
  if (!around)
    throw new ModelFolderError(
      file,
      'post_processor',
      'the special tokens around a sequence cannot be found',
    );
  const named = (v: unknown) => {
    const s = typeof v === 'string' ? v : (v as { content?: unknown } | null)?.content;
    return typeof s === 'string' ? tok.token_to_id(s) : undefined;
  };
  const padding = json.padding as { pad_id?: unknown } | null | undefined;
  const padId =
    named(tokCfg.pad_token) ??
    (typeof padding?.pad_id === 'number' ? padding.pad_id : undefined) ??
    padTokenId ??
    tok.token_to_id('[PAD]') ??
    tok.token_to_id('<pad>') ??
    0;
  const unkId = tok.model?.unk_token_id;
  const cache = new Map<string, readonly number[]>();
  return {
    model: model.type as SubwordModel,
    prefix: around.prefix,
    suffix: around.suffix,
    padId,
    encodeWord(word) {
      const cached = cache.get(word);
      if (cached) return cached;
      let ids = encode(lead + word, false);
      if (ids.length === 0 && unkId !== undefined) ids = [unkId];
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(word, ids);
      return ids;
    },
    tokens: (ids) => ids.map((id) => tok.id_to_token(id) ?? `<${id}>`),
  };
}
