/** The supervised tagger of `fusion.slm`, loaded once per method. */
import { ConfigError } from '../core/errors.js';
import { CrfTagger } from '../slm/tagger.js';

export async function loadSlm(path: string): Promise<CrfTagger> {
  try {
    return await CrfTagger.load(path);
  } catch (e) {
    throw new ConfigError(`fusion.slm: cannot load the CRF model ${path}: ${(e as Error).message}`);
  }
}
