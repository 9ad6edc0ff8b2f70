/** `el4ner serve`: the HTTP API (loopback by default) with graceful shutdown. */
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { positiveInt } from '../args.js';
import { addSlmOption, configOrSlm } from '../config-or-slm.js';

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description(
      'serve the NER API over HTTP (POST /v1/ner, jobs, /healthz, /readyz, /metrics, /openapi.json, GET /)',
    )
    .requiredOption('--config <file>', 'configuration (YAML or JSON)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port', positiveInt, 8080)
    .option('--token-env <name>', 'require "Authorization: Bearer $NAME" on every route but /healthz')
    .option('--body-limit <bytes>', 'largest request body', positiveInt, 1024 * 1024)
    .option('--timeout-ms <n>', 'time limit per request', positiveInt, 120_000)
    .option(
      '--allowed-host <name...>',
      'host names accepted in the Host header without a token (IP addresses and localhost always are)',
    )
    .option('--no-preflight', 'skip the start-up checks of every model and file of the config');
  addSlmOption(cmd).action(async (opts) => {
    const { buildServer } = await import('../../server/app.js');
    const config = await configOrSlm(opts);
    if (opts.preflight) await (await import('../../assemble/preflight.js')).assertPreflight(config);
    let token: string | undefined;
    if (opts.tokenEnv) {
      token = process.env[opts.tokenEnv];
      if (!token) throw new ConfigError(`--token-env ${opts.tokenEnv}: the environment variable is not set`);
    }
    const app = await buildServer({
      config,
      configFile: opts.config,
      token,
      bodyLimit: opts.bodyLimit,
      requestTimeoutMs: opts.timeoutMs,
      allowedHosts: opts.allowedHost,
    });
    const address = await app.listen({ host: opts.host, port: opts.port });
    process.stderr.write(`el4ner: serving on ${address}${token ? ' (bearer token required)' : ''}\n`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        process.stderr.write(`el4ner: ${signal}: finishing in-flight requests\n`);
        app.close().then(resolve, resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
  });
}
