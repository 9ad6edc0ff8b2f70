/** `el4ner train-slm`: trains the CRF tagger on JSONL documents and reports dev strict micro-F1. */
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import type { NerDocument } from '../../core/types.js';
import { DEFAULT_TRAIN } from '../../slm/defaults.js';
import type { Training, TrainProgress, TrainStep } from '../../slm/tagger.js';
import { numberInRange, positiveInt } from '../args.js';
import { typesMissingFrom } from '../gold-input.js';
import { addInputOptions, type InputFlags, inputReadOptions } from '../input-options.js';

function nonNegativeNumber(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new InputError(`--${name} must be a non-negative number, got "${v}"`);
    return n;
  };
}

/**
 * Dev entity types the training data lacks can never be predicted: dev F1 counts them as missed.
 * None in common is the wrong dev file (F1 0 throughout, as with no entities); some is said.
 */
function checkDevTypes(train: readonly NerDocument[], dev: readonly NerDocument[], file: string): void {
  const trainTypes = typesMissingFrom(train, new Set()).types;
  const { types: devTypes, missing } = typesMissingFrom(dev, new Set(trainTypes));
  const unknown = missing.map((m) => m.type);
  if (unknown.length === 0) return;
  const trained = `the training data has ${trainTypes.join(', ')}`;
  if (unknown.length === devTypes.length)
    throw new InputError(
      `no entity type of the dev set (${devTypes.join(', ')}) is in the training data (${trained}): is it the dev set of this data?`,
      file,
    );
  process.stderr.write(
    `el4ner: warning: ${file}: entity type(s) ${unknown.join(', ')} are not in the training data (${trained}); the model cannot predict them, so dev F1 counts them as missed\n`,
  );
}

/** Where an interrupted training was, for the Ctrl-C message (the iterations say their own). */
const STEPS: Record<Exclude<TrainStep, 'iterations'> | 'final dev', string> = {
  'glove-clusters': 'while loading the shipped GloVe word clusters',
  'text-clusters': 'while building the word clusters from the text',
  lexicons: 'while loading the name lists',
  features: 'while extracting the features of the training sentences',
  'feature-index': 'while building the feature index',
  dev: 'while scoring the last iteration on the dev set',
  'o-bias': 'while choosing the O bias on the dev set',
  'final dev': 'while scoring the trained model on the dev set',
};

/** The trainings of a recipe that trains twice, as the Ctrl-C message names them. */
const TRAININGS: Record<Training, string> = {
  'without-lexicons': 'the training without the name lists (the first of two)',
  'with-lexicons': 'the training with the name lists (the second of two)',
  'held-out': 'the training on the sentences not held out (the first of two)',
  'all-sentences': 'the final training on all sentences (the second of two)',
};

export function register(program: Command): void {
  const cmd = program
    .command('train-slm')
    .description('train the supervised CRF tagger (per-token marginals for fusion) on labelled documents')
    .requiredOption(
      '--pool <file>',
      'training documents (JSONL with text, tokens, tags or entities; CoNLL, ...)',
    )
    .option('--dev <file>', 'development documents: scored during training, best iteration kept')
    .option(
      '--dev-share <share>',
      'without --dev: share of the training documents held out to pick the iteration and O bias, then trained on all of them (0: the whole --max-iter budget, last iteration kept)',
      '0.1',
    )
    .requiredOption('--out <file>', 'model file to write')
    .option(
      '--unlabeled <file>',
      'unlabeled text for the word clusters (one sentence or document per line: plain text, or JSON with tokens or text)',
    )
    .option(
      '--clusters <sources>',
      'word-cluster sets: glove (shipped), text (training + unlabeled text), both "glove,text" (default) or none',
      'glove,text',
    )
    .option(
      '--lexicons <names>',
      'name and place lists shipped with el4ner (resources/lexicons): en-names-places, auto (trained with and without, the better on --dev kept), or none (default)',
      'none',
    )
    .option(
      '--document-windows <list>',
      'document features from the documents within each of these distances in the input ("4,12"), or none',
      '4,12',
    )
    .option('--scheme <scheme>', 'tag scheme to train in: BIO, BIOES or BMES (default: that of the data)')
    .option('--c2 <n>', 'L2 regularisation coefficient', nonNegativeNumber('c2'), DEFAULT_TRAIN.c2)
    .option('--max-iter <n>', 'maximum L-BFGS iterations', positiveInt, DEFAULT_TRAIN.maxIterations)
    .option(
      '--patience <n>',
      'with a dev set (or a held-out share): stop when dev F1 has not improved for this many iterations',
      positiveInt,
      DEFAULT_TRAIN.patience,
    )
    .option('--min-count <n>', 'drop features seen fewer times in training', positiveInt, 1)
    .option('--eval-every <n>', 'score dev every n iterations', positiveInt, 10)
    .option(
      '--threads <n>',
      'threads computing the gradient (worker threads beyond the first)',
      positiveInt,
      1,
    );
  addInputOptions(cmd).action(
    async (
      o: InputFlags & {
        pool: string;
        dev?: string;
        devShare: string;
        out: string;
        scheme?: string;
        unlabeled?: string;
        clusters: string;
        lexicons: string;
        documentWindows: string;
        c2: number;
        maxIter: number;
        patience: number;
        minCount: number;
        evalEvery: number;
        threads: number;
      },
    ) => {
      const { readDocuments } = await import('../../formats/index.js');
      const { trainCrfRecipe } = await import('../../slm/tagger.js');
      const { prepareOutputFile } = await import('../../run/output-path.js');
      let scheme: 'BIO' | 'BIOES' | 'BMES' | undefined;
      if (o.scheme !== undefined) {
        const s = o.scheme.toUpperCase();
        if (s !== 'BIO' && s !== 'BIOES' && s !== 'BMES') {
          throw new InputError(`--scheme must be BIO, BIOES or BMES, got "${o.scheme}"`);
        }
        scheme = s;
      }
      const sources = o.clusters === 'none' ? [] : o.clusters.split(',').map((x) => x.trim());
      for (const x of sources) {
        if (x !== 'glove' && x !== 'text')
          throw new InputError(`--clusters takes glove, text, glove,text or none, got "${o.clusters}"`);
      }
      if (o.unlabeled && !sources.includes('text'))
        throw new InputError('--unlabeled needs the text clusters (--clusters text or glove,text)');
      const devShare = numberInRange('--dev-share', o.devShare, 0, 0.5);
      const chooseLexicons = o.lexicons === 'auto';
      if (chooseLexicons && !o.dev)
        throw new InputError('--lexicons auto needs --dev: it keeps the model that scores better there');
      const lexicons = chooseLexicons
        ? ['en-names-places']
        : o.lexicons === 'none'
          ? []
          : o.lexicons.split(',').map((x) => x.trim());
      const { shippedExists } = await import('../../slm/resources.js');
      for (const x of lexicons)
        if (!shippedExists('lexicons', x))
          throw new InputError(
            `--lexicons: no lexicon "${x}" ships with el4ner (en-names-places, auto or none)`,
          );
      const windows =
        o.documentWindows === 'none' ? [] : o.documentWindows.split(',').map((x) => Number(x.trim()));
      const { checkDocumentWindows } = await import('../../slm/context.js');
      try {
        checkDocumentWindows(windows);
      } catch (e) {
        // the value as given: "a,b" is not "NaN", "4,,12" not "0"
        const rule = (e as Error).message.replace(/, got .*$/, '');
        throw new InputError(`--document-windows ${JSON.stringify(o.documentWindows)}: ${rule} (or none)`);
      }
      const read = inputReadOptions(o);
      // training takes minutes: a model file that cannot be written is found out first
      prepareOutputFile(o.out, 'model file', {
        '--pool': o.pool,
        '--dev': o.dev,
        '--unlabeled': o.unlabeled,
      });
      const train = await readDocuments(o.pool, read);
      if (!train.some((d) => d.text.trim().length > 0))
        throw new InputError('no sentences to train on (the file is empty or every text is blank)', o.pool);
      if (!train.some((d) => d.entities.length > 0))
        throw new InputError('no entities to learn from: the CRF needs labelled sentences', o.pool);
      const { readUnlabeledSentences } = await import('../../slm/data.js');
      // a missing file or a folder is said by the reader, with what --unlabeled takes
      const unlabeled = o.unlabeled
        ? await readUnlabeledSentences(o.unlabeled, {
            ...read,
            expects: '--unlabeled takes a text file (one sentence or document per line)',
          })
        : undefined;
      // a file given for the clusters that adds nothing to them is a mistake (the wrong file, an
      // export that failed), as an empty --dev is
      if (o.unlabeled && !unlabeled?.some((s) => s.length > 0))
        throw new InputError(
          'no sentences in the unlabeled text (the file is empty or every line is blank)',
          o.unlabeled,
        );
      if (o.unlabeled)
        process.stderr.write(`unlabeled: ${unlabeled?.length ?? 0} sentences from ${o.unlabeled}\n`);
      const dev = o.dev ? await readDocuments(o.dev, read) : undefined;
      // dev F1 picks the iteration, the O bias and --lexicons auto: without gold entities it is 0
      // throughout and every one of those choices would be made on nothing
      if (dev && !dev.some((d) => d.text.trim().length > 0))
        throw new InputError('no documents to score on (the file is empty or every text is blank)', o.dev);
      if (dev && !dev.some((d) => d.entities.length > 0))
        throw new InputError(
          'no entities in the dev set: --dev needs labelled documents (dev F1 picks the iteration kept)',
          o.dev,
        );
      if (dev) checkDevTypes(train, dev, o.dev!);
      const started = Date.now();
      const options = {
        scheme,
        clusterSources: sources as ('glove' | 'text')[],
        lexicons,
        features: { documentWindows: windows },
        unlabeled,
        c2: o.c2,
        maxIterations: o.maxIter,
        patience: o.patience,
        minCount: o.minCount,
        evalEvery: o.evalEvery,
        dev,
        threads: o.threads,
        log: (line: string) => process.stderr.write(`${line}\n`),
      };
      const { onInterrupt } = await import('../interrupt.js');
      const { existsSync } = await import('node:fs');
      const earlier = existsSync(o.out);
      // which training of a recipe that trains twice, its last iteration and its step
      let training: Training | undefined;
      let at: TrainProgress | undefined;
      // each step gives the event loop its turns, so Ctrl-C is handled in any of them
      let step: TrainStep | 'final dev' | undefined;
      const stopHandling = onInterrupt((signal) => {
        const where =
          step !== undefined && step !== 'iterations'
            ? STEPS[step]
            : at
              ? `at iteration ${at.iteration} of ${at.maxIterations}${at.bestDevF1 === undefined ? '' : ` (best dev F1 so far ${at.bestDevF1.toFixed(4)})`}`
              : 'before its first iteration';
        const of = training && step !== 'final dev' ? ` in ${TRAININGS[training]}` : '';
        const model = earlier ? `the model already at ${o.out} is untouched` : `nothing written to ${o.out}`;
        process.stderr.write(
          `\nel4ner: ${signal}: training stopped ${where}${of}; no model written (${model})\n`,
        );
      });
      // said once Ctrl-C is handled: a Ctrl-C on seeing it stops the training with its message
      process.stderr.write(`pool: ${train.length} documents from ${o.pool}\n`);
      let tagger: Awaited<ReturnType<typeof trainCrfRecipe>>;
      let seconds: number;
      try {
        tagger = await trainCrfRecipe(train, {
          ...options,
          chooseLexicons,
          devShare,
          onTraining: (t) => {
            training = t;
            at = undefined;
            step = undefined;
          },
          onIteration: (p) => {
            at = p;
          },
          onStep: (s) => {
            step = s;
          },
        });
        seconds = (Date.now() - started) / 1000;
        if (dev) {
          step = 'final dev';
          const sc = await tagger.evaluateInTurns(dev);
          process.stderr.write(
            `dev strict micro: P ${sc.p.toFixed(4)} R ${sc.r.toFixed(4)} F1 ${sc.f1.toFixed(4)} ` +
              `(tp ${sc.tp}, fp ${sc.fp}, fn ${sc.fn})\n`,
          );
        }
      } finally {
        stopHandling();
      }
      await tagger.save(o.out);
      process.stderr.write(`trained in ${seconds.toFixed(1)} s; model written to ${o.out}\n`);
    },
  );
}
