import type { Entity, NerDocument } from '../../src/core/types.js';

/** An entity on the first occurrence (or the `nth`) of `surface` in `text`. */
export function ent(text: string, surface: string, type: string, nth = 0): Entity {
  let start = -1;
  for (let k = 0; k <= nth; k++) {
    start = text.indexOf(surface, start + 1);
    if (start < 0) throw new Error(`"${surface}" not in "${text}"`);
  }
  return { start, end: start + surface.length, type, text: surface };
}

export function doc(id: string, text: string, entities: Entity[]): NerDocument {
  return { id, text, entities };
}

export function close(actual: number, expected: number, message?: string): void {
  if (Math.abs(actual - expected) > 1e-9) {
    throw new Error(`${message ?? 'value'}: expected ${expected}, got ${actual}`);
  }
}
