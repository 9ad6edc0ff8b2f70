/**
 * The LLM side of fusion: the model rewrites the sentence with its entities marked inline,
 * `<PER>Obama</PER> visited <LOC>Paris</LOC>`, and the parser maps every tagged span back to
 * the input's characters and tokens.
 *
 * Parsing rules (each deviation is counted in `InlineParse`):
 * - A tag is `<NAME>` or `</NAME>` (spaces inside the brackets allowed); NAME matches an entity
 *   type case-insensitively. Tags with other names are unknown: they are removed from the text
 *   and counted, and mark nothing. `</>` closes whatever is open.
 * - An opening tag while another entity is open closes that one where the new tag starts.
 * - A closing tag whose name differs from the open entity still closes it (the opening type wins).
 * - An entity left open at the end closes at the end of its line (`unclosed`).
 * - The text without tags is aligned to the input (see align-output.ts): case, whitespace,
 *   dropped and added words and prose around the sentence are tolerated. An entity whose
 *   characters have no counterpart in the input is dropped (`unaligned`); otherwise it covers
 *   the input tokens its aligned characters touch, so it never contains invented text.
 * - Entities that overlap an earlier one after this mapping are dropped (`overlapping`).
 */
import { tokenize } from '../core/tokenize.js';
import type { Entity, NerDocument, Token } from '../core/types.js';
import type { ChatMessage, ChatResponse, Engine } from '../engines/types.js';
import { alignRewritten } from './align-output.js';

/** Where an entity's markup sits in the raw model output (offsets into the response text). */
export interface InlineMarkup {
  /** Offset of the `<` of the opening tag. */
  openStart: number;
  /** One past the `>` of the opening tag. */
  openEnd: number;
  /** Offset of the first character of the type name inside the opening tag. */
  typeStart: number;
  /** Offset of the `<` of the closing tag, when there is one. */
  closeStart?: number;
  closeEnd?: number;
}

export interface InlineEntity extends Entity {
  /** First input token covered. */
  tokenStart: number;
  /** One past the last input token covered. */
  tokenEnd: number;
  closed: boolean;
  markup: InlineMarkup;
}

export interface InlineParse {
  entities: InlineEntity[];
  /** Tag names that are not entity types, with how often each appeared. */
  unknownTypes: Record<string, number>;
  unclosed: number;
  /** Closing tags with nothing open. */
  strayClosing: number;
  /** Tagged spans whose text could not be found in the input. */
  unaligned: number;
  overlapping: number;
  /** Share of the input's non-space characters the rewritten text was aligned to. */
  coverage: number;
  /**
   * Per input token: the offset in the model output where its first aligned character was
   * written, or -1 when none of its characters was aligned (the answer dropped it).
   */
  tokenOutput: number[];
}

const TAG = /<\s*(\/?)\s*([A-Za-z_][\w.-]*(?:[ ][\w.-]+){0,3})?\s*>/g;

interface Event {
  kind: 'open' | 'close';
  /** Canonical type, or undefined for an unknown name (or a bare `</>`). */
  type?: string;
  name: string;
  /** Offset in the plain (tag-free) text. */
  plain: number;
  start: number;
  end: number;
  typeStart: number;
}

interface Scanned {
  plain: string;
  /** Offset in the output of each character of `plain`. */
  plainToOutput: Int32Array;
  events: Event[];
}

function scan(output: string, types: readonly string[]): Scanned {
  const byKey = new Map(types.map((t) => [t.toLowerCase(), t]));
  let plain = '';
  const plainToOutput = new Int32Array(output.length);
  const events: Event[] = [];
  let last = 0;
  const copy = (from: number, to: number) => {
    for (let k = from; k < to; k++) plainToOutput[plain.length + k - from] = k;
    plain += output.slice(from, to);
  };
  for (const m of output.matchAll(TAG)) {
    const slash = m[1] === '/';
    const name = m[2] ?? '';
    if (!slash && name === '') continue;
    const start = m.index ?? 0;
    copy(last, start);
    last = start + m[0].length;
    const typeStart = name === '' ? start + 1 : start + m[0].indexOf(name, 1);
    events.push({
      kind: slash ? 'close' : 'open',
      type: byKey.get(name.trim().toLowerCase()),
      name,
      plain: plain.length,
      start,
      end: last,
      typeStart,
    });
  }
  copy(last, output.length);
  return { plain, plainToOutput: plainToOutput.subarray(0, plain.length), events };
}

interface PlainEntity {
  type: string;
  plainStart: number;
  plainEnd: number;
  closed: boolean;
  markup: InlineMarkup;
}

/** Parses an inline-tagged rewrite of `input.text` into entities over the input. */
export function parseInlineOutput(
  output: string,
  input: { text: string; tokens?: Token[] },
  types: readonly string[],
): InlineParse {
  const { plain, plainToOutput, events } = scan(output, types);
  const unknownTypes: Record<string, number> = {};
  let unclosed = 0;
  let strayClosing = 0;
  const found: PlainEntity[] = [];
  let open: PlainEntity | null = null;
  /** Unknown tags opened and not yet closed, by lower-cased name. */
  const unknownOpen = new Map<string, number>();
  for (const ev of events) {
    const key = ev.name.trim().toLowerCase();
    if (ev.kind === 'open') {
      if (ev.type === undefined) {
        unknownTypes[ev.name] = (unknownTypes[ev.name] ?? 0) + 1;
        unknownOpen.set(key, (unknownOpen.get(key) ?? 0) + 1);
        continue;
      }
      if (open) {
        open.plainEnd = ev.plain;
        found.push(open);
        unclosed++;
      }
      open = {
        type: ev.type,
        plainStart: ev.plain,
        plainEnd: ev.plain,
        closed: false,
        markup: { openStart: ev.start, openEnd: ev.end, typeStart: ev.typeStart },
      };
    } else {
      if (ev.type === undefined && ev.name !== '') {
        const n = unknownOpen.get(key) ?? 0;
        if (n > 0) {
          unknownOpen.set(key, n - 1);
          continue;
        }
        // Otherwise an unknown closing name is taken as the open entity's (misspelt) closing tag.
        if (!open) unknownTypes[ev.name] = (unknownTypes[ev.name] ?? 0) + 1;
      }
      if (!open) {
        if (ev.type !== undefined || ev.name === '') strayClosing++;
        continue;
      }
      open.plainEnd = ev.plain;
      open.closed = true;
      open.markup.closeStart = ev.start;
      open.markup.closeEnd = ev.end;
      found.push(open);
      open = null;
    }
  }
  if (open) {
    const nl = plain.indexOf('\n', open.plainStart);
    open.plainEnd = nl < 0 ? plain.length : nl;
    found.push(open);
    unclosed++;
  }

  const tokens = input.tokens ?? tokenize(input.text);
  // Models sometimes echo the sentence before the tagged copy: when the tagged part starts on a
  // later line, aligning from that line is tried too, and the alignment placing more entities wins.
  let best = place(found, alignRewritten(plain, input.text), input.text, tokens, plainToOutput);
  const firstTagged = found.length > 0 ? plain.lastIndexOf('\n', found[0].plainStart) + 1 : 0;
  if (firstTagged > 0) {
    const alt = place(
      found,
      alignRewritten(plain, input.text, { from: firstTagged }),
      input.text,
      tokens,
      plainToOutput,
    );
    if (alt.entities.length > best.entities.length) best = alt;
  }
  return { ...best, unknownTypes, unclosed, strayClosing };
}

interface Placed {
  entities: InlineEntity[];
  unaligned: number;
  overlapping: number;
  coverage: number;
  tokenOutput: number[];
}

/** Per token, the output offset of the first plain character aligned into it (or -1). */
function tokenOutputOffsets(
  map: Int32Array,
  text: string,
  tokens: readonly Token[],
  plainToOutput: Int32Array,
): number[] {
  const tokenAt = new Int32Array(text.length).fill(-1);
  for (const [t, tok] of tokens.entries()) for (let c = tok.start; c < tok.end; c++) tokenAt[c] = t;
  const out = new Array<number>(tokens.length).fill(-1);
  const firstChar = new Array<number>(tokens.length).fill(Number.POSITIVE_INFINITY);
  for (let p = 0; p < map.length; p++) {
    const q = map[p];
    if (q < 0) continue;
    const t = tokenAt[q];
    // The output position of the token's earliest aligned character.
    if (t >= 0 && q < firstChar[t]) {
      firstChar[t] = q;
      out[t] = plainToOutput[p];
    }
  }
  return out;
}

function place(
  found: readonly PlainEntity[],
  map: Int32Array,
  text: string,
  tokens: readonly Token[],
  plainToOutput: Int32Array,
): Placed {
  const entities: InlineEntity[] = [];
  let unaligned = 0;
  let overlapping = 0;
  let lastEnd = -1;
  for (const f of found) {
    let first = -1;
    let lastChar = -1;
    for (let p = f.plainStart; p < f.plainEnd; p++) {
      const q = map[p];
      if (q < 0) continue;
      if (first < 0) first = q;
      lastChar = q;
    }
    if (first < 0 || lastChar < first) {
      unaligned++;
      continue;
    }
    let tokenStart = -1;
    let tokenEnd = -1;
    for (let t = 0; t < tokens.length; t++) {
      if (tokens[t].start <= lastChar && first < tokens[t].end) {
        if (tokenStart < 0) tokenStart = t;
        tokenEnd = t + 1;
      }
    }
    if (tokenStart < 0) {
      unaligned++;
      continue;
    }
    if (tokenStart < lastEnd) {
      overlapping++;
      continue;
    }
    lastEnd = tokenEnd;
    const start = tokens[tokenStart].start;
    const end = tokens[tokenEnd - 1].end;
    entities.push({
      start,
      end,
      type: f.type,
      text: text.slice(start, end),
      tokenStart,
      tokenEnd,
      closed: f.closed,
      markup: f.markup,
    });
  }
  let mapped = 0;
  for (const q of map) if (q >= 0) mapped++;
  const inputChars = text.replace(/\s/g, '').length;
  return {
    entities,
    unaligned,
    overlapping,
    coverage: inputChars === 0 ? 1 : mapped / inputChars,
    tokenOutput: tokenOutputOffsets(map, text, tokens, plainToOutput),
  };
}

/** Writes `text` with `entities` marked inline; nested or overlapping entities after the first are left out. */
export function markInline(
  text: string,
  entities: readonly Pick<Entity, 'start' | 'end' | 'type'>[],
): string {
  const sorted = [...entities].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let pos = 0;
  for (const e of sorted) {
    if (e.start < pos || e.end <= e.start || e.end > text.length) continue;
    out += `${text.slice(pos, e.start)}<${e.type}>${text.slice(e.start, e.end)}</${e.type}>`;
    pos = e.end;
  }
  return out + text.slice(pos);
}

export type Demonstration = Pick<NerDocument, 'text' | 'entities'>;

/** Finds demonstrations for a document (e.g. by embedding similarity). */
export type DemonstrationSource = (doc: NerDocument) => Promise<Demonstration[]>;

export interface InlinePromptOptions {
  types: readonly string[];
  demonstrations?: readonly Demonstration[];
}

/**
 * The chat messages: fixed instructions, then demonstrations as user/assistant turns, then the
 * sentence last, so servers with prefix caching reuse everything before it.
 */
export function buildInlineMessages(text: string, options: InlinePromptOptions): ChatMessage[] {
  const types = options.types.join(', ');
  const system = [
    'You are a named entity recognition tagger.',
    `Entity types: ${types}.`,
    'Rewrite the sentence the user gives exactly as it is, copying every character, and wrap each',
    'entity in an opening and a closing tag with its type, like <TYPE>entity text</TYPE>.',
    'Use only the types listed. Do not nest tags. Output only the rewritten sentence.',
  ].join('\n');
  const messages: ChatMessage[] = [{ role: 'system', content: system }];
  for (const d of options.demonstrations ?? []) {
    messages.push({ role: 'user', content: d.text });
    messages.push({ role: 'assistant', content: markInline(d.text, d.entities) });
  }
  messages.push({ role: 'user', content: text });
  return messages;
}

export interface InlineTaggingOptions {
  types: readonly string[];
  demonstrations?: DemonstrationSource;
  /** Alternatives per token requested with the logprobs. Default 5. */
  topLogprobs?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface InlineTaggingResult {
  response: ChatResponse;
  parse: InlineParse;
}

/** Asks `engine` to tag `doc` inline (with logprobs) and parses the answer. */
export async function runInlineTagging(
  engine: Engine,
  doc: NerDocument,
  options: InlineTaggingOptions,
): Promise<InlineTaggingResult> {
  const demonstrations = options.demonstrations ? await options.demonstrations(doc) : [];
  const messages = buildInlineMessages(doc.text, { types: options.types, demonstrations });
  const response = await engine.chat(
    {
      messages,
      temperature: 0,
      maxTokens: options.maxTokens ?? doc.text.length + 64 + 16 * options.types.length,
      logprobs: true,
      topLogprobs: options.topLogprobs ?? 5,
      stage: 'fusion',
    },
    { signal: options.signal },
  );
  const tokens = doc.tokens && doc.tokens.length > 0 ? doc.tokens : undefined;
  return { response, parse: parseInlineOutput(response.text, { text: doc.text, tokens }, options.types) };
}
