/**
 * `tokenizer.json` files in the layout the Hugging Face tokenizers library writes, for tests and
 * benchmarks: a BERT-style WordPiece, a RoBERTa-style byte-level BPE and a DeBERTa-v3/XLM-R-style
 * SentencePiece Unigram, each over a vocabulary the caller chooses.
 */

export type TokenizerJson = Record<string, unknown> & { model: Record<string, unknown> };

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function template(cls: string, clsId: number, sep: string, sepId: number) {
  return {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: cls, type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: sep, type_id: 0 } },
    ],
    pair: [
      { SpecialToken: { id: cls, type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: sep, type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: sep, type_id: 1 } },
    ],
    special_tokens: {
      [cls]: { id: cls, ids: [clsId], tokens: [cls] },
      [sep]: { id: sep, ids: [sepId], tokens: [sep] },
    },
  };
}

export const WORDPIECE_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** BERT: ids 0-4 are [PAD] [UNK] [CLS] [SEP] [MASK], then `pieces` (continuations spelt `##x`). */
export function wordPieceTokenizer(
  pieces: readonly string[],
  opts: { lowercase?: boolean } = {},
): TokenizerJson {
  const vocab: Record<string, number> = {};
  for (const p of [...WORDPIECE_SPECIALS, ...pieces]) if (!(p in vocab)) vocab[p] = Object.keys(vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: WORDPIECE_SPECIALS.map((t, i) => addedToken(i, t)),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: opts.lowercase ?? false,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: template('[CLS]', 2, '[SEP]', 3),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** GPT-2's reversible map from bytes to printable characters (byte-level BPE vocabularies use it). */
export function byteToUnicode(): string[] {
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return out;
}

/** A word as byte-level symbols (`Ġ` for a leading space). */
export function byteLevelSymbols(word: string): string[] {
  const table = byteToUnicode();
  return Array.from(new TextEncoder().encode(word), (b) => table[b]);
}

export const BPE_SPECIALS = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];

/**
 * RoBERTa: ids 0-4 are <s> <pad> </s> <unk> <mask>, then the 256 byte symbols, then one merge chain
 * per entry of `units` (left to right, so each unit becomes one token when its own chain is the
 * only one that applies), then the symbol `pairs`. Units are plain strings; a leading space becomes `Ġ`.
 */
export function byteLevelBpeTokenizer(
  units: readonly string[],
  pairs: readonly [string, string][] = [],
): TokenizerJson {
  const vocab: Record<string, number> = {};
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  for (const t of BPE_SPECIALS) add(t);
  for (const c of byteToUnicode()) add(c);
  const merges: [string, string][] = [];
  const seen = new Set<string>();
  for (const unit of units) {
    const symbols = byteLevelSymbols(unit);
    let acc = symbols[0];
    for (const s of symbols.slice(1)) {
      const key = `${acc} ${s}`;
      if (!seen.has(key)) {
        seen.add(key);
        merges.push([acc, s]);
      }
      acc += s;
      add(acc);
    }
  }
  for (const [a, b] of pairs) {
    merges.push([a, b]);
    add(a + b);
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BPE_SPECIALS.map((t, i) => addedToken(i, t)),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', 2],
      cls: ['<s>', 0],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

export const UNIGRAM_SPECIALS = ['[PAD]', '[CLS]', '[SEP]', '[UNK]'];

/** DeBERTa-v3: ids 0-3 are [PAD] [CLS] [SEP] [UNK], then `pieces` with their log-probabilities (`▁` marks a word start). */
export function unigramTokenizer(pieces: readonly [string, number][]): TokenizerJson {
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: UNIGRAM_SPECIALS.map((t, i) => addedToken(i, t)),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }] },
    pre_tokenizer: metaspace,
    post_processor: template('[CLS]', 1, '[SEP]', 2),
    decoder: metaspace,
    model: {
      type: 'Unigram',
      unk_id: 3,
      vocab: [...UNIGRAM_SPECIALS.map((t) => [t, 0]), ...pieces],
      byte_fallback: false,
    },
  };
}

/** Token ids of a tokenizer.json's vocabulary, whatever the model type. */
export function vocabOf(t: TokenizerJson): Map<string, number> {
  const v = t.model.vocab;
  if (Array.isArray(v)) return new Map((v as [string, number][]).map(([p], i) => [p, i]));
  return new Map(Object.entries(v as Record<string, number>));
}
