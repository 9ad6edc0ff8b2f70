/** Parsers of numeric command-line values shared by the commands. */
import { InvalidArgumentError } from 'commander';
import { InputError } from '../core/errors.js';

export function positiveInt(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

/**
 * A plain decimal number from `lo` to `hi` (`hi` excluded when `below`), else an input error naming
 * the flag and the value given.
 */
export function numberInRange(flag: string, value: string, lo: number, hi: number, below = false): number {
  const x = Number(value);
  if (!/^\s*[\d.]+\s*$/.test(value) || !(x >= lo && (below ? x < hi : x <= hi)))
    throw new InputError(
      `${flag} must be a number from ${lo} to ${below ? 'below ' : ''}${hi}, got ${JSON.stringify(value)}`,
    );
  return x;
}
