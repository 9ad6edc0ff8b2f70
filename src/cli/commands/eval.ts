import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import type { FusionReport } from '../../fusion/pipeline.js';
import { addPipelineOptions, type PipelineFlags } from '../../pipeline/cli-options.js';

interface EvalFlags extends PipelineFlags {
  test: string;
  limit?: string;
  report?: string;
  dev?: string;
}

const pct = (x: number) => (100 * x).toFixed(2).padStart(7);

/** The fusion report as a table: SLM alone, LLM alone, fused; strict micro P/R/F1 and token-level macro F1. */
export function formatFusionReport(r: FusionReport, devDocs?: number): string {
  const lines: string[] = [];
  const how = r.lambdaSearch
    ? `chosen on ${devDocs ?? '?'} dev document(s), dev strict F1 ${(100 * r.lambdaSearch.f1).toFixed(2)}, ${r.lambdaSearch.curve.length} values tried`
    : 'fixed in the config';
  lines.push(`SLM+LLM fusion on ${r.documents} document(s)`);
  lines.push(
    `lambda ${r.lambda.toPrecision(4)}, for removing SLM entities ${r.lambdaOutside.toPrecision(4)} (${how}); LLM probability: ${r.probability}`,
  );
  lines.push('');
  lines.push('system        strict P  strict R strict F1   tp    fp    fn  token macro F1');
  const row = (name: string, s: FusionReport['fused'] | undefined) => {
    if (!s) return `${name.padEnd(12)}  (no LLM answers)`;
    const c = s.strict;
    return `${name.padEnd(12)} ${pct(c.p)}  ${pct(c.r)}  ${pct(c.f1)} ${String(c.tp).padStart(5)} ${String(c.fp).padStart(5)} ${String(c.fn).padStart(5)}  ${pct(s.tokenMacro.f1)}`;
  };
  lines.push(row('SLM alone', r.slm));
  lines.push(row('LLM alone', r.llm));
  lines.push(row('fused', r.fused));
  lines.push('');
  const d = r.decided;
  const total = d.agree + d.slm + d.llm;
  lines.push(
    `tokens decided: ${total} in all; both agree ${d.agree}, disagreement kept by the SLM ${d.slm}, taken from the LLM ${d.llm}`,
  );
  const k = r.decisions;
  lines.push(
    `conflicts won by the LLM / decided: type ${k.type.llm}/${k.type.llm + k.type.slm}, boundary ${k.boundary.llm}/${k.boundary.llm + k.boundary.slm}, LLM-only entity ${k.llmOnly.llm}/${k.llmOnly.llm + k.llmOnly.slm}, SLM-only entity ${k.slmOnly.llm}/${k.slmOnly.llm + k.slmOnly.slm}`,
  );
  const g = r.lambdaSearch?.guard;
  const best = r.lambdaSearch?.best;
  if (g && best && !g.kept)
    lines.push(
      `the best dev lambdas ${best.lambda.toPrecision(4)} / ${best.lambdaOutside.toPrecision(4)} (dev F1 ${(100 * best.f1).toFixed(2)}) beat the ${g.against === 'slm' ? 'SLM' : 'LLM'} alone (${(100 * g.againstF1).toFixed(2)}) in only ${(100 * g.winShare).toFixed(0)}% of dev resamples: the ${g.against === 'slm' ? 'SLM' : 'LLM'} alone is used`,
    );
  lines.push(
    `LLM failures (SLM used alone): ${r.fallbacks['llm-error']}; answers without logprobs: ${r.withoutLogprobs}; LLM entities without probability: ${r.llmEntitiesWithoutProbability}`,
  );
  return lines.join('\n');
}

export function register(program: Command): void {
  addPipelineOptions(
    program
      .command('eval')
      .description(
        'evaluate on a labelled set: the EL4NER per-stage report (recall, typing, verification, F1, cost), or, when the config has fusion.llm (and not fusion.voter), SLM alone / LLM alone / fused',
      )
      .requiredOption('--test <file>', 'labelled documents (JSONL, CoNLL, ...)')
      .option('--limit <n>', 'only the first N documents')
      .option('--report <file>', 'write the full report as JSON')
      .option(
        '--dev <file>',
        "fusion: labelled documents to choose lambda on when fusion.lambda is 'auto' (default: fusion.dev)",
      ),
  ).action(async (flags: EvalFlags) => {
    const [{ loadConfig }, { readDocuments }, { pipelineSettings }] = await Promise.all([
      import('../../config/load.js'),
      import('../../formats/index.js'),
      import('../../pipeline/cli-options.js'),
    ]);
    let limit: number | undefined;
    if (flags.limit !== undefined) {
      if (!/^\d+$/.test(flags.limit))
        throw new InputError(`--limit must be a non-negative integer, got ${JSON.stringify(flags.limit)}`);
      limit = Number(flags.limit);
    }
    const config = loadConfig(flags.config);
    const settings = pipelineSettings(flags);
    const gold = await readDocuments(flags.test);

    if (config.fusion?.llm && !config.fusion.voter) {
      const [{ buildFusion, fusionDevDocs }, { fusionEval }] = await Promise.all([
        import('../../run/runner.js'),
        import('../../fusion/pipeline.js'),
      ]);
      const setup = await buildFusion(config, settings);
      try {
        let dev: Awaited<ReturnType<typeof fusionDevDocs>> | undefined;
        if (setup.fusion.lambda === undefined) dev = await fusionDevDocs(config, flags.dev);
        else if (flags.dev)
          process.stderr.write(
            `el4ner: fusion.lambda is fixed at ${setup.fusion.lambda}: --dev is not used\n`,
          );
        const docs = limit !== undefined ? gold.slice(0, limit) : gold;
        const report = await fusionEval(docs, setup.fusion, {
          dev,
          concurrency: settings.concurrency ?? config.concurrency,
        });
        if (flags.report)
          await writeFile(
            flags.report,
            `${JSON.stringify({ kind: 'fusion', slmModel: config.fusion.slm, llmModel: setup.llm, ...report, cost: setup.engines.ledger.summary() }, null, 2)}\n`,
          );
        process.stdout.write(`${formatFusionReport(report, dev?.length)}\n`);
        process.stderr.write(`${setup.engines.ledger.format()}\n`);
      } finally {
        await setup.close();
      }
      return;
    }

    const [{ createPipeline }, { formatPipelineReport }] = await Promise.all([
      import('../../pipeline/el4ner.js'),
      import('../../pipeline/report.js'),
    ]);
    const pipeline = createPipeline({ config, ...settings });
    try {
      const report = await pipeline.evaluate(gold, { limit });
      if (flags.report) await writeFile(flags.report, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`${formatPipelineReport(report)}\n`);
      process.stderr.write(`${pipeline.formatCost()}\n`);
    } finally {
      await pipeline.close();
    }
  });
}
