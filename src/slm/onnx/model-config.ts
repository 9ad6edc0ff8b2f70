/**
 * What a token classifier's `config.json` (and `tokenizer_config.json`, when there) tell the
 * tagger: the labels in id order (`id2label`, checked against `label2id`), their tag scheme, and
 * the longest input the model accepts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { detectScheme, splitTag } from '../../core/tags.js';
import type { TagScheme } from '../../core/types.js';
import { ModelFolderError } from './errors.js';

export interface ClassifierConfig {
  labels: string[];
  scheme: TagScheme;
  modelType?: string;
  /** Longest input in tokens, special tokens included (from the two files; undefined when neither says). */
  maxLength?: number;
  padTokenId?: number;
}

/** Parses a JSON file of the folder; `optional` files may be absent (then undefined). */
export function readJsonFile(file: string, optional = false): Record<string, unknown> | undefined {
  if (!existsSync(file)) {
    if (optional) return undefined;
    throw new ModelFolderError(file, undefined, 'not found');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelFolderError(file, undefined, `not valid JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ModelFolderError(file, undefined, 'expected a JSON object');
  return raw as Record<string, unknown>;
}

/** Labels from `id2label`: ids 0..N-1 without gaps, unique tags, each `O` or a B-/I-/E-/S-/M- tag. */
export function labelsFromId2Label(file: string, id2label: unknown): string[] {
  if (!id2label || typeof id2label !== 'object' || Array.isArray(id2label))
    throw new ModelFolderError(
      file,
      'id2label',
      'missing or not an object of label ids to tags ({"0": "O", "1": "B-PER", ...})',
    );
  const entries = Object.entries(id2label as Record<string, unknown>);
  if (entries.length === 0) throw new ModelFolderError(file, 'id2label', 'is empty');
  const labels: string[] = new Array(entries.length);
  for (const [k, v] of entries) {
    const id = Number(k);
    if (!/^\d+$/.test(k) || id >= entries.length)
      throw new ModelFolderError(
        file,
        `id2label.${k}`,
        `label ids must be 0..${entries.length - 1} without gaps (got "${k}")`,
      );
    if (typeof v !== 'string' || v === '')
      throw new ModelFolderError(file, `id2label.${k}`, 'expected a tag such as "B-PER"');
    labels[id] = v;
  }
  if (labels.every((l) => /^LABEL_\d+$/.test(l)))
    throw new ModelFolderError(
      file,
      'id2label',
      `holds the generic names ${labels.slice(0, 3).join(', ')}...: the model was saved without its tag names; set id2label to the tags it was trained with ("O", "B-PER", ...)`,
    );
  const seen = new Set<string>();
  labels.forEach((l, i) => {
    if (seen.has(l)) throw new ModelFolderError(file, `id2label.${i}`, `tag "${l}" appears twice`);
    seen.add(l);
    try {
      splitTag(l);
    } catch {
      throw new ModelFolderError(
        file,
        `id2label.${i}`,
        `"${l}" is not a NER tag (expected O or a B-, I-, E-, S-, M-, L-, U- prefix and a type, e.g. B-PER)`,
      );
    }
  });
  if (labels.every((l) => l === 'O')) throw new ModelFolderError(file, 'id2label', 'has no entity tags');
  return labels;
}

function checkLabel2Id(file: string, label2id: unknown, labels: readonly string[]): void {
  if (label2id === undefined) return;
  if (!label2id || typeof label2id !== 'object' || Array.isArray(label2id))
    throw new ModelFolderError(file, 'label2id', 'expected an object of tags to label ids');
  const m = label2id as Record<string, unknown>;
  for (const [i, l] of labels.entries()) {
    if (m[l] !== i)
      throw new ModelFolderError(
        file,
        `label2id.${l}`,
        `is ${JSON.stringify(m[l])} but id2label gives "${l}" id ${i}: the label map is inconsistent`,
      );
  }
  for (const l of Object.keys(m))
    if (!labels.includes(l))
      throw new ModelFolderError(file, `label2id.${l}`, `tag "${l}" is not in id2label`);
}

// Models whose position ids start after the padding id (RoBERTa family: 514 positions hold 512 tokens).
const OFFSET_POSITIONS = new Set(['roberta', 'xlm-roberta', 'camembert', 'longformer', 'xlm-roberta-xl']);

const positiveInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;

export function readClassifierConfig(configFile: string, tokenizerConfigFile: string): ClassifierConfig {
  const cfg = readJsonFile(configFile)!;
  const labels = labelsFromId2Label(configFile, cfg.id2label);
  checkLabel2Id(configFile, cfg.label2id, labels);
  const modelType = typeof cfg.model_type === 'string' ? cfg.model_type : undefined;
  const padTokenId = positiveInt(cfg.pad_token_id) ?? (cfg.pad_token_id === 0 ? 0 : undefined);
  const limits: number[] = [];
  const positions = positiveInt(cfg.max_position_embeddings);
  if (positions) {
    const offset = modelType && OFFSET_POSITIONS.has(modelType) ? (padTokenId ?? 1) + 1 : 0;
    limits.push(positions - offset);
  }
  const tokCfg = readJsonFile(tokenizerConfigFile, true);
  // Tokenizers saved without a limit write a huge sentinel (1e30) here.
  const modelMax = positiveInt(tokCfg?.model_max_length);
  if (modelMax && modelMax < 1_000_000) limits.push(modelMax);
  return {
    labels,
    scheme: detectScheme(labels),
    modelType,
    maxLength: limits.length ? Math.min(...limits) : undefined,
    padTokenId,
  };
}
