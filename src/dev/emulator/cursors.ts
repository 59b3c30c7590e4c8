/**
 * Relay offset cursors, the form W&B uses (wandb/wandb#6614): base64("arrayconnection:<offset>").
 * They are positions, not run identities, which is why runs created during paging shift them.
 */
const PREFIX = 'arrayconnection:';

export function offsetToCursor(offset: number): string {
  return Buffer.from(`${PREFIX}${offset}`, 'utf8').toString('base64');
}

/** The offset a cursor names, or undefined when it is not an offset cursor. */
export function cursorToOffset(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  if (!text.startsWith(PREFIX)) return undefined;
  const digits = text.slice(PREFIX.length);
  if (!/^\d+$/.test(digits)) return undefined;
  return Number(digits);
}
