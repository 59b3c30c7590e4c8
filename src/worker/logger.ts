import { destination, pino, type DestinationStream, type Logger } from 'pino';

/**
 * The daemon's JSON logger. Secrets are kept out twice: known field paths are redacted, and as a last
 * line of defence every output line is scrubbed of the secret values themselves (an error message
 * quoting a header, a URL with a password), so no code path can leak them by accident.
 */
export function createLogger(options: {
  level: string;
  secrets: ReadonlyArray<string | undefined>;
  destination?: DestinationStream;
}): Logger {
  const secrets = options.secrets.filter((s): s is string => typeof s === 'string' && s.length >= 6);
  return pino(
    {
      name: 'traindb',
      level: options.level,
      redact: {
        paths: [
          'apiKey',
          '*.apiKey',
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'password',
          '*.password',
        ],
        censor: '[redacted]',
      },
      hooks: {
        streamWrite(line) {
          let out = line;
          for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
          return out;
        },
      },
    },
    options.destination ?? destination({ dest: 1, sync: true }),
  );
}

/** The password of a Redis URL, so the scrubber knows it. */
export function redisPassword(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
