/**
 * The JSON-schema subsets that servers enforce, as rule checkers returning every problem found:
 * - OpenAI strict structured outputs (`strict: true`), kept to the subset every strict server
 *   accepts: the root is an object; every object lists all its properties in `required` and has
 *   `additionalProperties: false`; optional values are unions with null (`type: [T, "null"]`);
 *   no length, numeric or pattern constraints, no `default`, no composition but `anyOf`; at most
 *   10 levels of nesting, 5,000 properties and 1,000 enum values in all.
 * - node-llama-cpp's JSON-schema grammar (`llama.createGrammarForJsonSchema`, GbnfJsonSchema): the
 *   keywords of its type definitions only (no `anyOf`, `allOf`, `minimum`, `pattern`), type unions
 *   of the scalar types only.
 */

type Schema = Record<string, unknown>;

const OPENAI_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  'description',
  '$defs',
  '$ref',
]);

const LLAMA_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'enum',
  'const',
  'oneOf',
  'description',
  'minLength',
  'maxLength',
  'format',
  '$defs',
  '$ref',
]);

const SCALARS = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const TYPES = new Set([...SCALARS, 'object', 'array']);

const isSchema = (v: unknown): v is Schema => v !== null && typeof v === 'object' && !Array.isArray(v);

function children(s: Schema): Array<[string, Schema]> {
  const out: Array<[string, Schema]> = [];
  if (isSchema(s.properties))
    for (const [k, v] of Object.entries(s.properties)) if (isSchema(v)) out.push([`.${k}`, v]);
  if (isSchema(s.items)) out.push(['[]', s.items]);
  for (const key of ['anyOf', 'oneOf', 'prefixItems'])
    if (Array.isArray(s[key]))
      (s[key] as unknown[]).forEach((v, i) => {
        if (isSchema(v)) out.push([`.${key}[${i}]`, v]);
      });
  if (isSchema(s.$defs))
    for (const [k, v] of Object.entries(s.$defs)) if (isSchema(v)) out.push([`.$defs.${k}`, v]);
  return out;
}

/** Problems of `schema` under OpenAI strict structured outputs (empty when it is accepted). */
export function openAiStrictProblems(schema: Schema): string[] {
  const problems: string[] = [];
  if (schema.type !== 'object') problems.push('root: must be type "object" (not anyOf)');
  let properties = 0;
  let enumValues = 0;
  const walk = (s: Schema, at: string, depth: number) => {
    if (depth > 10) problems.push(`${at}: nested deeper than 10 levels`);
    for (const k of Object.keys(s))
      if (!OPENAI_KEYWORDS.has(k)) problems.push(`${at}: keyword "${k}" is not supported`);
    const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
    for (const t of types)
      if (!TYPES.has(String(t))) problems.push(`${at}: unknown type ${JSON.stringify(t)}`);
    if (Array.isArray(s.type) && !(s.type.length === 2 && s.type.includes('null')))
      problems.push(`${at}: a type union must be [T, "null"]`);
    if (s.type === undefined && s.enum === undefined && s.const === undefined && !s.anyOf && !s.$ref)
      problems.push(`${at}: no type`);
    if (Array.isArray(s.enum)) enumValues += s.enum.length;
    if (types.includes('object')) {
      const props = isSchema(s.properties) ? Object.keys(s.properties) : [];
      properties += props.length;
      if (s.additionalProperties !== false) problems.push(`${at}: additionalProperties must be false`);
      const req = Array.isArray(s.required) ? (s.required as string[]) : [];
      for (const p of props) if (!req.includes(p)) problems.push(`${at}: property "${p}" is not required`);
      for (const r of req) if (!props.includes(r)) problems.push(`${at}: required "${r}" is not a property`);
    }
    if (types.includes('array') && !isSchema(s.items)) problems.push(`${at}: array without items`);
    for (const [path, c] of children(s)) walk(c, `${at}${path}`, depth + 1);
  };
  walk(schema, 'root', 1);
  if (properties > 5000) problems.push(`${properties} properties in all (at most 5,000)`);
  if (enumValues > 1000) problems.push(`${enumValues} enum values in all (at most 1,000)`);
  return problems;
}

/** Problems of `schema` under node-llama-cpp's JSON-schema grammar (empty when it is accepted). */
export function llamaGrammarProblems(schema: Schema): string[] {
  const problems: string[] = [];
  const walk = (s: Schema, at: string) => {
    for (const k of Object.keys(s))
      if (!LLAMA_KEYWORDS.has(k)) problems.push(`${at}: keyword "${k}" is not supported`);
    if (Array.isArray(s.type)) {
      for (const t of s.type)
        if (!SCALARS.has(String(t))) problems.push(`${at}: type unions may hold scalar types only, not ${t}`);
    } else if (s.type !== undefined && !TYPES.has(String(s.type)))
      problems.push(`${at}: unknown type ${JSON.stringify(s.type)}`);
    for (const [path, c] of children(s)) walk(c, `${at}${path}`);
  };
  walk(schema, 'root');
  return problems;
}
