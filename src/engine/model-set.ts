/**
 * Model sets of caps (`SpendCap.models`): exact names and `*` patterns, where
 * `*` stands for any run of characters (also none) and every other character
 * matches itself.
 */

const compiled = new Map<string, RegExp>();

function patternRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 's');
    compiled.set(pattern, re);
  }
  return re;
}

/** Whether `model` is in the set; an absent set holds every model. */
export function modelInSet(models: readonly string[] | undefined, model: string): boolean {
  if (models === undefined) return true;
  for (const m of models) {
    if (m === model) return true;
    if (m.includes('*') && patternRegExp(m).test(model)) return true;
  }
  return false;
}

/**
 * The set's part of a counter key: sorted and deduplicated, so the same set in
 * another order keys the same counter, and each name URI-encoded, so no model
 * name (one holding `,` or `|`) can spell another set or another key.
 */
export function modelSetKey(models: readonly string[]): string {
  const unique = [...new Set(models)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `models=${unique.map((m) => encodeURIComponent(m)).join(',')}`;
}
