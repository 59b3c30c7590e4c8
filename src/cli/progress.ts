/**
 * Progress for long copies: a redrawn bar on a terminal, plain log lines otherwise (CI logs, files).
 */
export interface ProgressReporter {
  update(done: number, total: number): void;
  finish(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const started = Date.now();
  let startDone: number | null = null;
  let lastLog = 0;
  const tty = stream.isTTY === true;

  const describe = (done: number, total: number): string => {
    startDone ??= done;
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? (done - startDone) / seconds : 0;
    const eta = rate > 0 && total > done ? `, ETA ${formatDuration((total - done) / rate)}` : '';
    return `${done}/${total} runs, ${rate.toFixed(1)} runs/s${eta}`;
  };

  return {
    update(done, total) {
      if (tty) {
        const width = 30;
        const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
        stream.write(
          `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${describe(done, total)}\u001b[K`,
        );
      } else if (Date.now() - lastLog >= 2000 || done >= total) {
        lastLog = Date.now();
        stream.write(`${label}: ${describe(done, total)}\n`);
      }
    },
    finish() {
      if (tty) stream.write('\n');
    },
  };
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
