/**
 * The messages of a config that does not validate: one line per problem, `file:line: key: what`,
 * in the order of the file; an unknown key says which known key it is probably a typo of.
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** The line (1-based) of the value at `path`, or of `key` inside it; undefined when not known. */
export type Locate = (path: Path, key?: string) => number | undefined;

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  element?: { _zod: { def: Def } };
  innerType?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  in?: { _zod: { def: Def } };
}

/** The object shapes a value at `path` may have (several for a union). */
function shapesAt(def: Def, path: Path): Def[] {
  if (def.innerType) return shapesAt(def.innerType._zod.def, path);
  if (def.type === 'pipe' && def.in) return shapesAt(def.in._zod.def, path);
  if (def.options) return def.options.flatMap((o) => shapesAt(o._zod.def, path));
  if (path.length === 0) return def.type === 'object' ? [def] : [];
  const [head, ...rest] = path;
  if (def.type === 'array' && def.element && typeof head === 'number')
    return shapesAt(def.element._zod.def, rest);
  if (def.type === 'object' && typeof head === 'string' && def.shape?.[head])
    return shapesAt(def.shape[head]._zod.def, rest);
  return [];
}

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The known key `key` is most likely a typo of (case or up to two edits away), if any. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.min(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : distance(key, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

const keyName = (path: Path) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');

/** One line per issue, sorted by line; `schema` gives the known keys of an unknown key's object. */
export function issueLines(
  issues: readonly Issue[],
  file: string,
  schema: { _zod: { def: unknown } },
  locate: Locate = () => undefined,
): string[] {
  const lines = issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = shapesAt(schema._zod.def as Def, issue.path).flatMap((d) => Object.keys(d.shape ?? {}));
      return issue.keys.map((k) => {
        const near = closestKey(k, known);
        return {
          line: locate(issue.path, k),
          text: `${keyName([...issue.path, k])}: unknown key${near ? ` (did you mean "${near}"?)` : ''}`,
        };
      });
    }
    // a missing key has no line of its own: the line of the mapping that lacks it
    let line: number | undefined;
    for (let n = issue.path.length; line === undefined && n >= 0; n--) line = locate(issue.path.slice(0, n));
    const missing = /^Invalid input: expected (.+), received undefined$/.exec(issue.message);
    const what = missing ? `missing (expected ${missing[1]})` : issue.message;
    return [{ line, text: `${issue.path.length ? keyName(issue.path) : '(root)'}: ${what}` }];
  });
  return lines
    .map((l, i) => ({ ...l, i }))
    .sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || a.i - b.i)
    .map((l) => `${file}${l.line ? `:${l.line}` : ''}: ${l.text}`);
}
