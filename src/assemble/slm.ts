/** The supervised tagger of `fusion.slm` (a CRF file or an ONNX token classifier folder), loaded once per method. */
import type { SlmSpec } from '../config/schema.js';
import { loadSlm as loadSlmSpec, type Slm } from '../slm/load.js';

export function loadSlm(spec: SlmSpec): Promise<Slm> {
  return loadSlmSpec(spec, { key: 'fusion.slm' });
}
