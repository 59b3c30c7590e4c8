import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from './harness.js';

/** A free TCP port on loopback (bound, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway redis-server child without persistence: stopping it loses everything, as a Redis without
 * a volume does. Never the shared 6379 instance, which other test files use at the same time.
 */
export class ThrowawayRedis {
  private child: ChildProcess | null = null;
  /** `password`: started with `--requirepass` (and `url` carries it). */
  constructor(
    readonly port: number,
    private readonly password?: string,
  ) {}

  get url(): string {
    return `redis://${this.password ? `:${encodeURIComponent(this.password)}@` : ''}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...(this.password ? ['--requirepass', this.password] : []),
      ],
      { stdio: 'ignore' },
    );
    await waitFor(() => this.ping(), { timeoutMs: 10_000, what: `redis-server on ${this.port}` });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  async ping(): Promise<boolean> {
    const r = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
    });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  }
}
