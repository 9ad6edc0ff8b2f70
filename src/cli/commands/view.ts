/** `el4ner view`: one self-contained HTML page of predicted (and gold) entities. */
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { inputName } from '../../formats/decode.js';
import { positiveInt } from '../args.js';
import { readGold } from '../gold-input.js';
import { ENCODING_FLAG, encodingHelp, inputReadOptions } from '../input-options.js';
import { checkMatch, MATCH_HELP, matchBy } from '../match-option.js';

/** Above this many documents a page is slow to open (tens of MB): the user is told about --limit. */
const LARGE_PAGE_DOCS = 10_000;

export function register(program: Command): void {
  program
    .command('view')
    .description('write an HTML page with the entities highlighted (and scored against gold)')
    .requiredOption('--input <file>', 'predicted documents (JSONL or any readable format)')
    .option('--gold <file>', 'gold documents: marks correct / wrong type / missed / spurious, adds scores')
    .option('--match <how>', `with --gold: ${MATCH_HELP}`, 'auto')
    .requiredOption('--out <file>', 'HTML file to write')
    .option('--title <text>', 'page title')
    .option('--limit <n>', 'show at most this many documents', positiveInt)
    .option(ENCODING_FLAG, encodingHelp('encoding of --input and --gold'))
    .action(async (opts) => {
      const read = inputReadOptions({ encoding: opts.encoding });
      const { detectFormat, readDocuments, writeWholeFile } = await import('../../formats/index.js');
      const { renderView, shownDocuments } = await import('../../view/render.js');
      const { prepareOutputFile } = await import('../../run/output-path.js');
      checkMatch(opts.match);
      prepareOutputFile(opts.out, 'HTML file');
      const pred = await readDocuments(opts.input, read);
      // as `score` and `eval` refuse an empty gold file: an empty page would look like a run that found nothing
      if (!pred.some((d) => d.text.trim().length > 0))
        throw new InputError(
          'no documents to show (the file is empty or every text is blank)',
          inputName(opts.input),
        );
      const gold = opts.gold ? await readGold(opts.gold, '--gold', read) : undefined;
      if (gold?.length === 0)
        throw new InputError('no gold documents to score against', inputName(opts.gold));
      const formatOf = (file: string) => (file === '-' ? ('jsonl' as const) : detectFormat(file, read));
      const pairing = opts.gold && {
        goldFile: opts.gold,
        predFile: opts.input,
        matchBy: matchBy(opts.match, await formatOf(opts.gold), await formatOf(opts.input)),
      };
      const html = renderView(pred, { gold, title: opts.title, limit: opts.limit, ...pairing });
      await writeWholeFile(opts.out, html);
      const shown = shownDocuments(pred, opts.limit).length;
      const count = shown < pred.length ? `${shown} of ${pred.length}` : `${pred.length}`;
      process.stderr.write(`el4ner: wrote ${opts.out} (${count} documents)\n`);
      if (shown > LARGE_PAGE_DOCS)
        process.stderr.write(
          `el4ner: the page holds ${shown} documents (${Math.ceil(Buffer.byteLength(html) / 1e6)} MB): a browser may take long to open it or give up; --limit N shows the first N (the scores still count every document)\n`,
        );
    });
}
