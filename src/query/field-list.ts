/**
 * Splits a comma-separated list of fields (`--columns`, `?columns=`), keeping commas inside double
 * quotes: `run_id,summary."a,b"` is two fields.
 */
export function splitFieldList(text: string | null | undefined): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text ?? '') {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out.map((s) => s.trim()).filter(Boolean);
}
