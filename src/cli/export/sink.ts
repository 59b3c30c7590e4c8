import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';

/** Where streamed output goes: writes wait while the reader is behind, so memory stays at one page. */
export interface Sink {
  write(chunk: string | Uint8Array): Promise<void>;
  /** True once the reader has gone (`traindb query | head`): stop producing, nothing is wrong. */
  readonly gone: boolean;
  /** Finishes the output: on success a file appears under its name; on failure no partial file is left. */
  close(ok: boolean): Promise<void>;
}

export function streamSink(out: Writable): Sink {
  let gone = false;
  let failure: Error | null = null;
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') gone = true;
    else failure = error;
  });
  return {
    get gone() {
      return gone;
    },
    async write(chunk) {
      if (failure) throw failure;
      if (gone) return;
      // `once` also settles on 'error' (rejecting); the listener above has classified it by then.
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), once(out, 'close')]).catch(() => undefined);
      if (failure) throw failure;
    },
    async close() {
      if (failure) throw failure;
    },
  };
}

/** A file written under a temporary name and renamed when complete, so a failed export leaves none. */
export function fileSink(path: string): Sink {
  const partial = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  const out = createWriteStream(partial);
  const inner = streamSink(out);
  return {
    get gone() {
      return inner.gone;
    },
    write: (chunk) => inner.write(chunk),
    async close(ok) {
      out.end();
      await once(out, 'close');
      if (ok) renameSync(partial, path);
      else rmSync(partial, { force: true });
      await inner.close(ok);
    },
  };
}
