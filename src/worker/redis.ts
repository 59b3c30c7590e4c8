import { Redis } from 'ioredis';
import { TraindbError } from '../core/errors.js';

const closingConnections = new WeakSet<Redis>();

export type RedisRole = 'queue' | 'worker' | 'probe';

export interface RedisEvents {
  /** Called once per lost connection (not per reconnect attempt), with a password-free message. */
  onDown?: (role: RedisRole, message: string) => void;
  onUp?: (role: RedisRole) => void;
  /**
   * Redis refused us for a reason reconnecting cannot cure (wrong password, no permission, no such
   * database): the error names the URL without its password and the fix.
   */
  onFatal?: (role: RedisRole, error: TraindbError) => void;
}

/** Refusals that are a matter of configuration: retrying them would wait forever. */
function isPermanentRedisError(message: string): boolean {
  return (
    /^(NOAUTH|WRONGPASS|NOPERM)\b/.test(message) ||
    /^ERR (invalid password|invalid DB index|DB index is out of range|Client sent AUTH, but no password is set|AUTH .*without any password configured)/i.test(
      message,
    )
  );
}

function permanentRedisError(url: string, error: Error): TraindbError {
  const where = redactRedisUrl(url);
  const fix = /^(NOAUTH|WRONGPASS)|password/i.test(error.message)
    ? 'check the user and password in the Redis URL (REDIS_URL or daemon.redis_url)'
    : /^NOPERM/.test(error.message)
      ? "grant the Redis user the commands and keys BullMQ needs (e.g. '+@all ~*'), or use another user"
      : 'check the Redis URL (REDIS_URL or daemon.redis_url)';
  return new TraindbError(
    'UNAVAILABLE',
    `Redis at ${where} refused the connection (${error.message.trim().replace(/\.$/, '')}): ${fix}`,
    {
      cause: error,
      transient: false,
    },
  );
}

/**
 * ioredis connections for each role. BullMQ needs `maxRetriesPerRequest: null` for workers (blocking
 * commands must wait out an outage) and is given instances, not options: in ESM it cannot load
 * ioredis by itself. The probe answers /readyz, so it fails fast instead of queueing commands while
 * Redis is down. Reconnects back off to at most 2 s, so a restarted Redis is found again quickly.
 */
export function createRedis(url: string, role: RedisRole, events: RedisEvents = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: role === 'probe' ? 0 : null,
    enableOfflineQueue: role !== 'probe',
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    connectionName: `traindb-${role}`,
  });
  let up = false;
  // Our own close is not an outage.
  const closing = (): boolean => closingConnections.has(redis);
  redis.on('ready', () => {
    up = true;
    events.onUp?.(role);
  });
  // Without an 'error' listener an EventEmitter error would crash the process on every outage.
  redis.on('error', (error: Error) => {
    if (isPermanentRedisError(error.message) && !closing()) events.onFatal?.(role, permanentRedisError(url, error));
    if (up && !closing()) events.onDown?.(role, error.message);
    up = false;
  });
  redis.on('close', () => {
    if (up && !closing()) events.onDown?.(role, 'connection closed');
    up = false;
  });
  return redis;
}

/** Closes a connection whether or not Redis is reachable (QUIT would wait for it). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  closingConnections.add(redis);
  if (redis.status === 'ready') {
    await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  redis.disconnect();
}

/** PING with a deadline: a wedged connection must not hang a readiness probe. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer PING within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A Redis URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]+)@/, '//$1:***@');
}
