/**
 * A server at an HTTP model's baseUrl that is not an OpenAI API: GET {baseUrl}/models answers a
 * web page (a chat web UI, a proxy's page at the wrong port). The start-up check of `run` and
 * `el4ner doctor` must say so instead of counting "0 models served".
 */
import { type ScriptedServer, startScriptedServer } from './scripted-server.js';

/** The page its GET /models answers (text/html). */
export const WEB_PAGE = '<!doctype html><html><body>Chat UI</body></html>';

export function startWebPageServer(): Promise<ScriptedServer> {
  return startScriptedServer({
    chat: () => ({ content: 'Paris' }),
    modelsReply: () => ({ rawBody: WEB_PAGE, headers: { 'content-type': 'text/html' } }),
  });
}
