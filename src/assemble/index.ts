/**
 * The one place where a configuration becomes running objects. `createMethod(config)` picks the
 * method and builds what it needs: engines (cache and cost included), the demonstration source,
 * the supervised tagger, the labels and the CRF fallback. The CLI, the server, the queue workers,
 * `tune`/`select` and the library all get their method here.
 *
 * - no models, a tagger in `fusion.slm`: the supervised tagger alone;
 * - `fusion.llm` set and `fusion.voter` not true: SLM+LLM confidence fusion;
 * - otherwise: the EL4NER pipeline (with the tagger as one more voter when `fusion.voter`).
 * With `fusion.slm` set, a document no LLM answered for is tagged by the tagger alone and marked
 * `meta.fallback: 'slm'`; without it, such a document fails with a NoAnswerError.
 */

import { existsSync } from 'node:fs';
import { createTypeMapper } from '../answers/labels.js';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { Method } from '../core/method.js';
import type { NerDocument, Span } from '../core/types.js';
import { createEl4nerMethod } from '../el4ner/pipeline.js';
import type { El4nerParts, SlmVoter, VerificationSettings } from '../el4ner/state.js';
import { type ResolvedStages, resolveStages, type StageOverrides } from '../el4ner/switches.js';
import { unitWeight, weightsFromConfig } from '../el4ner/voting/decide.js';
import { type OverlapPolicy, policyOfData } from '../el4ner/voting/overlaps.js';
import { votingRule } from '../el4ner/voting/rules.js';
import type { Engine } from '../engines/types.js';
import { readDocuments } from '../formats/index.js';
import type { Fusion } from '../fusion/pipeline.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import { staticDemoSource } from '../retrieval/demo-source.js';
import { createSlmMethod, fixedLabelsProblem, tagDocument } from '../slm/method.js';
import {
  demoSourceFor,
  isFolder,
  memoizedDemoSource,
  poolLabels,
  poolPreExtractor,
  readConfigPool,
} from './demos.js';
import {
  type AssembledEngines,
  assembleEngines,
  backbonesOf,
  type EngineSource,
  requireEngine,
} from './engines.js';
import { assembleFusion, buildFusion } from './fusion.js';
import { assertPromptsFit } from './prompt-room.js';
import { loadSlm } from './slm.js';
import { slmVoter } from './slm-voter.js';

export interface MethodOptions extends EngineSource {
  /** Demonstrations: a ready source, or pool documents indexed in memory; default: `config.pool`. */
  demos?: DemoSource | readonly NerDocument[];
  stages?: StageOverrides;
  /** Overrides config.concurrency. */
  concurrency?: number;
  /** Where notices go (default: stderr). */
  log?: (message: string) => void;
  /** An SLM voter instead of the tagger of `fusion.slm` (`fusion.voter`). */
  slm?: SlmVoter;
  /** Fusion with lambda 'auto': the dev documents to choose it on (default: `fusion.dev`). */
  dev?: readonly NerDocument[];
  /** Overrides config `decision.minScore` (`--threshold`). */
  threshold?: number;
  /** Overrides config `verification.policy` (`--verification-policy`). */
  verificationPolicy?: VerificationSettings['policy'];
  /** The file the config was read from: errors about the config as a whole name it. */
  configFile?: string;
}

export type MethodChoice = 'el4ner' | 'fusion' | 'slm';

/** The command-line names of the given options that only the LLM methods use (stage switches, threshold). */
function llmOnlyOptions(options: MethodOptions): string[] {
  const stageFlags: Record<string, string> = {
    retrieval: '--retrieval',
    extraction: '--extraction',
    classification: '--classification',
    verification: '--no-verification',
    decomposition: '--no-decomposition',
    singleModel: '--single-model',
  };
  return [
    ...(options.threshold !== undefined ? ['--threshold'] : []),
    ...(options.verificationPolicy !== undefined ? ['--verification-policy'] : []),
    ...Object.keys(options.stages ?? {}).map((k) => stageFlags[k] ?? k),
  ];
}

/** Which method a config runs. */
export function methodKind(config: Config): MethodChoice {
  if (config.models.length === 0) return 'slm';
  if (config.fusion?.llm && !config.fusion.voter) return 'fusion';
  return 'el4ner';
}

/**
 * The entity types the LLM method of `config` asks for, when known without building it: its
 * `labels`, else (EL4NER) those of its pool file, as the method takes them; [] when not known
 * (an index folder as pool, a fusion config without labels).
 */
export async function askedLabels(config: Config): Promise<string[]> {
  if (config.labels?.length) return [...config.labels];
  if (methodKind(config) !== 'el4ner' || !config.pool || isFolder(config.pool) || !existsSync(config.pool))
    return [];
  return poolLabels(await readConfigPool(config.pool));
}

const stderrLog = (m: string) => process.stderr.write(`el4ner: ${m}\n`);

export async function createMethod(
  input: Config | Record<string, unknown>,
  options: MethodOptions = {},
): Promise<Method> {
  const config = parseConfig(input);
  const log = options.log ?? stderrLog;
  const kind = methodKind(config);
  if (kind === 'slm') {
    if (!config.fusion?.slm)
      throw new ConfigError(
        `${options.configFile ? `${options.configFile}: ` : ''}no models and no SLM: configure \`models\` (LLMs) or \`fusion.slm\` (a CRF model from el4ner train-slm)`,
      );
    const tagger = await loadSlm(config.fusion.slm);
    log(`no LLM configured: tagging with the supervised ${tagger.description} alone (${tagger.path})`);
    const ignored = llmOnlyOptions(options);
    if (ignored.length)
      log(`${ignored.join(', ')} apply to the LLM methods, not to the supervised tagger alone: ignored`);
    const method = createSlmMethod(tagger, {
      name: tagger.path,
      description: tagger.description,
      maxChars: config.maxChars,
    });
    const problem = config.labels?.length ? fixedLabelsProblem(config.labels, method.info.labels) : undefined;
    if (problem) {
      await method.close();
      throw new ConfigError(`labels: ${problem}`);
    }
    return method;
  }
  const engines = await assembleEngines(config, options);
  if (kind === 'fusion' && (options.threshold !== undefined || options.verificationPolicy !== undefined))
    log('--threshold and --verification-policy apply to the EL4NER pipeline, not to fusion: ignored');
  try {
    const switches = resolveStages(config, options.stages);
    const concurrency = options.concurrency ?? config.concurrency;
    if (kind === 'fusion') {
      const demos = await demosFor(config, switches, engines, options, log, undefined);
      return await assembleFusion({
        config,
        engines,
        demos,
        retrievalMode: switches.retrieval,
        concurrency,
        log,
        ...(options.dev || config.fusion?.dev ? { dev: () => fusionDev(config, options.dev) } : {}),
        release: () => engines.close(),
      });
    }
    return await assembleEl4ner(config, switches, engines, options, log, concurrency);
  } catch (e) {
    await engines.close();
    throw e;
  }
}

/**
 * The fusion tagger of a config with lambda not tuned yet, for `el4ner tune` (which tunes lambda
 * itself on answers it pays for once).
 */
export async function createFusionTagger(
  input: Config | Record<string, unknown>,
  options: MethodOptions = {},
): Promise<{ fusion: Fusion; close(): Promise<void> }> {
  const config = parseConfig(input);
  const engines = await assembleEngines(config, options);
  try {
    const switches = resolveStages(config, options.stages);
    const demos = await demosFor(config, switches, engines, options, options.log ?? stderrLog, undefined);
    const { fusion, slm } = await buildFusion({ config, engines, demos, retrievalMode: switches.retrieval });
    return {
      fusion,
      close: async () => {
        await engines.close();
        await slm.close();
      },
    };
  } catch (e) {
    await engines.close();
    throw e;
  }
}

/**
 * One demonstration source for many methods run over the same sentences (tune's candidates,
 * ablate's rows): built once from the config, its selections remembered. Undefined when each
 * method must build its own (no pool, pool spans pre-extracted by the LLMs, or an embedding model
 * whose engine was not handed in).
 */
export async function sharedDemoSource(
  input: Config | Record<string, unknown>,
  options: {
    engines?: ReadonlyMap<string, Engine>;
    noCache?: boolean;
    cachePath?: string;
    log?: (m: string) => void;
  } = {},
): Promise<DemoSource | undefined> {
  const config = parseConfig(input);
  if (!config.pool || config.retrieval.poolSpans === 'llm') return undefined;
  const embed = config.embedding ? options.engines?.get(config.embedding.model) : undefined;
  if (config.embedding && !embed) return undefined;
  const source = await demoSourceFor(config, {
    noCache: options.noCache,
    cachePath: options.cachePath,
    embedEngine: embed,
    log: options.log,
  });
  return memoizedDemoSource(source);
}

async function fusionDev(config: Config, given?: readonly NerDocument[]): Promise<readonly NerDocument[]> {
  if (given) return given;
  const file = config.fusion!.dev!;
  const docs = await readDocuments(file);
  if (docs.length === 0) throw new ConfigError(`fusion.dev: ${file} has no documents`);
  return docs;
}

/** The demonstration source, or undefined when retrieval is off (the pool then only gives labels). */
async function demosFor(
  config: Config,
  switches: ResolvedStages,
  engines: AssembledEngines,
  options: MethodOptions,
  log: (m: string) => void,
  preExtract: { fn: (text: string) => Promise<Span[]>; identity: string } | undefined,
): Promise<DemoSource | undefined> {
  const given = options.demos;
  if (given && !Array.isArray(given)) return given as DemoSource;
  if (switches.retrieval === 'none' || config.retrieval.k === 0) {
    if (Array.isArray(given)) return staticDemoSource(given as readonly NerDocument[]);
    if (config.pool && !config.labels?.length && !isFolder(config.pool))
      return staticDemoSource(await readConfigPool(config.pool));
    return undefined;
  }
  if (!given && !config.pool) return undefined;
  return demoSourceFor(config, {
    ...(given ? { docs: given as readonly NerDocument[] } : {}),
    noCache: options.noCache,
    cachePath: options.cachePath,
    embedEngine: config.embedding
      ? requireEngine(engines.engines, config.embedding.model, 'embedding.model')
      : undefined,
    preExtract: preExtract?.fn,
    preExtractIdentity: preExtract?.identity,
    log,
  });
}

/** Each model's configured maxTokens (prompts sized from their items ask for more, never for less). */
function modelMaxTokens(config: Config): Map<string, number> {
  return new Map(config.models.map((m) => [m.name, m.maxTokens]));
}

async function assembleEl4ner(
  config: Config,
  switches: ResolvedStages,
  engines: AssembledEngines,
  options: MethodOptions,
  log: (m: string) => void,
  concurrency: number,
): Promise<Method> {
  if (!config.labels?.length && !config.pool && !options.demos)
    throw new ConfigError(
      'no labels and no pool: give `labels` (entity types) or a labelled `pool` in the config',
    );
  // a pool that is not there is the config's mistake, with or without the start-up checks
  if (config.pool && !options.demos && !existsSync(config.pool))
    throw new ConfigError(`pool: not found: ${config.pool}`);
  const backbones = backbonesOf(config, engines.engines.keys());
  for (const b of backbones) requireEngine(engines.engines, b, 'backbones');
  const verifier = config.verifier ?? backbones[0];
  const singleModel = switches.singleModel ?? backbones[0];
  const policy = options.verificationPolicy ?? config.verification.policy;
  if (switches.verification && policy !== 'off') requireEngine(engines.engines, verifier, 'verifier');
  if (options.threshold !== undefined && !(options.threshold >= 0 && options.threshold <= 1))
    throw new ConfigError(`the score threshold must be between 0 and 1 (got ${options.threshold})`);
  if (switches.extraction === 'single' || switches.classification === 'single')
    requireEngine(engines.engines, singleModel, 'stages.singleModel');

  // One tagger for both the voter and the fallback (an ONNX model can take hundreds of MB).
  const tagger = config.fusion?.slm ? await loadSlm(config.fusion.slm) : undefined;
  let slm = options.slm;
  if (!slm && tagger && config.fusion?.voter) slm = slmVoter(tagger);
  if (slm && backbones.includes(slm.name))
    throw new ConfigError(`the SLM voter's name "${slm.name}" is also a backbone name`);

  const pre =
    config.retrieval.poolSpans === 'llm'
      ? await poolPreExtractor(
          config,
          engines.engines,
          Array.isArray(options.demos) ? (options.demos as readonly NerDocument[]) : config.pool,
        )
      : undefined;
  const demos = await demosFor(
    config,
    switches,
    engines,
    options,
    log,
    pre && { fn: pre, identity: pre.identity },
  );
  for (const line of pre?.failures.lines() ?? []) log(`pre-extracting pool spans: ${line}`);

  const labels = config.labels?.length ? [...config.labels] : demos ? poolLabels(demos.docs()) : [];
  if (labels.length === 0)
    throw new ConfigError('no labels: the config has none and the pool has no entities');
  const parts: El4nerParts = {
    engines: engines.engines,
    ledger: engines.ledger,
    labels,
    typeOf: createTypeMapper(labels),
    descriptions: config.labelDescriptions,
    backbones,
    verifier,
    singleModel,
    switches,
    k: config.retrieval.k,
    demos: switches.retrieval === 'none' ? undefined : demos,
    slm,
    rule: votingRule(config.decision.rule, config.decision),
    votes: config.decision.votes,
    weight: switches.classification === 'weighted-vote' ? weightsFromConfig(config.voteWeights) : unitWeight,
    verification: {
      ...config.verification,
      policy: options.verificationPolicy ?? config.verification.policy,
    },
    scoring: {
      ...(config.decision.calibration
        ? { calibration: { weights: config.decision.calibration.weights } }
        : {}),
      minScore: options.threshold ?? config.decision.minScore,
    },
    overlaps: await overlapPolicy(config, demos),
    maxChars: config.maxChars,
    maxTokens: modelMaxTokens(config),
    concurrency,
    log,
    ...(tagger
      ? {
          fallback: {
            tag: (doc: NerDocument, signal?: AbortSignal) =>
              tagDocument(tagger, doc, { maxChars: config.maxChars, signal }),
            description: tagger.description,
            readsContext: tagger.readsContext,
          },
        }
      : {}),
    release: async () => {
      await engines.close();
      await tagger?.close();
    },
  };
  await assertPromptsFit(parts);
  const method = createEl4nerMethod(parts);
  const zeroShot =
    switches.retrieval === 'none'
      ? 'retrieval none'
      : parts.k === 0
        ? 'k 0'
        : !parts.demos
          ? 'no demonstration pool'
          : parts.demos.size === 0
            ? 'the demonstration pool is empty'
            : undefined;
  if (zeroShot) log(`${zeroShot}: running zero-shot`);
  return method;
}

/**
 * `decision.overlaps`: as configured, or from the data's nature when 'auto': nested when the
 * pool's own entities overlap (GENIA, LitBank), else flat (CoNLL-style data; also without a pool).
 */
export async function overlapPolicy(config: Config, demos: DemoSource | undefined): Promise<OverlapPolicy> {
  const o = config.decision.overlaps;
  if (o !== 'auto') return o;
  let docs = demos?.docs();
  if (!docs && config.pool && !isFolder(config.pool)) docs = await readConfigPool(config.pool);
  return policyOfData(docs ?? []);
}
