import { RE2JS } from 're2js';

/** Longest pattern accepted; RE2 compiles in time and memory proportional to it. */
export const MAX_REGEX_LENGTH = 4096;

/**
 * Why a pattern cannot be run, or null when it can. Patterns use RE2 syntax (linear-time matching: no
 * backreferences, no lookaround), the engine behind `~` and `$regex`; see the README's "The filter language".
 */
export function regexProblem(pattern: string): string | null {
  if (pattern.length > MAX_REGEX_LENGTH) {
    return `the pattern is ${pattern.length} characters long; at most ${MAX_REGEX_LENGTH} are accepted`;
  }
  const unsupported = unsupportedFeature(pattern);
  try {
    RE2JS.compile(pattern);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
    return unsupported ? `${unsupported} (${reason})` : reason;
  }
  return null;
}

function unsupportedFeature(pattern: string): string | null {
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences (\\1, \\k<name>) are not supported: RE2 syntax';
  if (/\(\?<?[=!]/.test(pattern))
    return 'lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported: RE2 syntax';
  return null;
}
