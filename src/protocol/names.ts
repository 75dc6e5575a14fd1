/**
 * Topic and queue names (the contract): 1-128 characters, starting with a letter or digit.
 * `_` is allowed since the 2026-12 contract additions (SQS queue names use it; issue 13).
 */
export const NAME_PATTERN_SOURCE = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$";
export const NAME_PATTERN = new RegExp(NAME_PATTERN_SOURCE);

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}
