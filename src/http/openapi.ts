import { DEFAULT_PAGE_SIZE, MAX_COLUMNS, MAX_PAGE_SIZE } from '../app/read-queries.js';
import { ATTACHMENT_FIELDS } from '../db/store.js';
import { MIN_TOKEN_LENGTH } from '../config/daemon.js';
import { MAX_BODY_BYTES } from './respond.js';

/**
 * The OpenAPI 3.1 description of the HTTP API, written by hand (served at /openapi.json). A test holds
 * its paths and methods equal to the server's ENDPOINTS and its parameters to what each endpoint accepts.
 */
export function openApiDocument(): Record<string, unknown> {
  return DOCUMENT;
}

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const param = (name: string): { $ref: string } => ({ $ref: `#/components/parameters/${name}` });
const response = (name: string): { $ref: string } => ({ $ref: `#/components/responses/${name}` });
const json = (schema: unknown, example?: unknown): Record<string, unknown> => ({
  'application/json': { schema, ...(example === undefined ? {} : { example }) },
});

/** Reads: open on a loopback bind, a bearer token (read or API) off loopback. */
const READ_SECURITY = [{}, { bearer: [] }];
/** Writes: the API token whenever one is set (always off loopback). */
const WRITE_SECURITY = [{ bearer: [] }, {}];

const ERROR_CODES = [
  'INVALID_INPUT',
  'INVALID_FILTER',
  'UNKNOWN_ATTRIBUTE',
  'INVALID_CONFIG',
  'INVALID_RUN',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'BODY_TOO_LARGE',
  'URL_TOO_LONG',
  'UNSUPPORTED_MEDIA_TYPE',
  'MISDIRECTED_REQUEST',
  'QUERY_TIMEOUT',
  'UNAVAILABLE',
  'INTERNAL',
];

/** Answers every endpoint may give, whatever it does. */
const COMMON_ERRORS = {
  '414': response('UrlTooLong'),
  '421': response('Misdirected'),
  '500': response('Internal'),
};

const DOCUMENT: Record<string, unknown> = {
  openapi: '3.1.0',
  info: {
    title: 'traindb HTTP API',
    version: '1',
    description: [
      'The HTTP API of `traindb daemon`: query and compare runs, register launches, set attachments, probe health.',
      '',
      '**Access.** On a loopback bind (the default, 127.0.0.1) reads are open and requests must carry a loopback',
      '`Host` (localhost, 127.0.0.1, [::1] or the bound name), else 421: this stops web pages that re-point their',
      'own name at 127.0.0.1 (DNS rebinding). Bound off loopback, the daemon needs TRAINDB_API_TOKEN, and reads',
      'need `Authorization: Bearer <token>` with TRAINDB_API_TOKEN or the read-only TRAINDB_READ_TOKEN.',
      `Writes need TRAINDB_API_TOKEN whenever it is set. Tokens have at least ${MIN_TOKEN_LENGTH} characters.`,
      '/healthz, /readyz and /openapi.json are always open: they hold no run data (/readyz names the failed',
      'checks only to readers).',
      '',
      '**Errors** are JSON `{error, code, details?}`: `error` says what was wrong and how to fix it, `code` is',
      'stable for programs. Bad input is 400; a query past the time limit (daemon.http.query_timeout) or a full',
      'query queue is 503, worth retrying later.',
      '',
      `**Limits.** URLs up to 32,768 characters (else 414); JSON bodies up to ${MAX_BODY_BYTES} bytes (else 413);`,
      `pages up to ${MAX_PAGE_SIZE} runs; up to ${MAX_COLUMNS} columns.`,
    ].join('\n'),
  },
  servers: [{ url: '/' }],
  paths: {
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'Liveness: the process answers',
        description: 'Always open; answers within milliseconds even while queries run (they run on other threads).',
        security: [{}],
        responses: {
          '200': { description: 'Alive', content: json(ref('Health'), { status: 'ok' }) },
          ...COMMON_ERRORS,
        },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Readiness: Redis answers, the database takes a write lock, each project polled lately',
        description:
          'Always open. Callers allowed to read (see Access) also get the failed checks and each check; others get only the status.',
        security: [{}],
        responses: {
          '200': {
            description: 'Ready',
            content: json(ref('Readiness'), {
              status: 'ready',
              failed: [],
              checks: { redis: { ok: true }, database: { ok: true } },
            }),
          },
          '503': {
            description: 'Not ready; `failed` names the checks that failed',
            content: json(ref('Readiness'), {
              status: 'not ready',
              failed: ['redis'],
              checks: { redis: { ok: false, error: 'Redis did not answer PING within 1000 ms' } },
            }),
          },
          ...COMMON_ERRORS,
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        security: [{}],
        responses: {
          '200': { description: 'The OpenAPI 3.1 document', content: json({ type: 'object' }) },
          ...COMMON_ERRORS,
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (text format 0.0.4)',
        security: READ_SECURITY,
        responses: {
          '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
          '401': response('Unauthorized'),
          ...COMMON_ERRORS,
        },
      },
    },
    '/runs': {
      get: {
        operationId: 'queryRuns',
        summary: 'One page of the runs matching a filter',
        description: [
          `Answers at most \`limit\` runs (default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}) in \`order\`,`,
          '`total` matches in all, and `next`: pass it as `after` for the following page, until it is null.',
          'Runs marked deleted in W&B are left out unless include_deleted=true.',
          'The query runs on a query thread with a time limit (daemon.http.query_timeout, default 10 s): past it,',
          'or when too many queries wait, the answer is 503 (QUERY_TIMEOUT or UNAVAILABLE).',
        ].join(' '),
        security: READ_SECURITY,
        parameters: [
          param('where'),
          param('mongo'),
          param('columns'),
          param('order'),
          param('limit'),
          param('after'),
          param('include_deleted'),
        ],
        responses: {
          '200': {
            description: 'A page of runs',
            content: json(ref('RunsPage'), {
              runs: [{ run_id: 'lab/molecule-rl/a1', status: 'completed', 'objective.QED': 0.8 }],
              count: 1,
              total: 349,
              next: 'eyJvIjoxfQ',
            }),
          },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '503': response('Unavailable'),
          ...COMMON_ERRORS,
        },
      },
      post: {
        operationId: 'registerLaunch',
        summary: 'Register a run at launch, before W&B knows it',
        description:
          'Creates a `launched` row with what the config implies (201), or changes nothing when the run id is known (200). The W&B run carrying the same launch id in its config is linked to this row later.',
        security: WRITE_SECURITY,
        requestBody: {
          required: true,
          content: json(ref('LaunchBody'), {
            run_id: 'launch-2026-03-01-a',
            config: { gradient_method: 'mgda', training: { batch_size: 32 } },
            host: 'ip-10-0-0-12',
          }),
        },
        responses: {
          '200': { description: 'Already known; nothing changed', content: json(ref('LaunchAnswer')) },
          '201': { description: 'Registered', content: json(ref('LaunchAnswer')) },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '403': response('Forbidden'),
          '413': response('BodyTooLarge'),
          '415': response('UnsupportedMediaType'),
          ...COMMON_ERRORS,
        },
      },
    },
    '/runs/{run_id}': {
      patch: {
        operationId: 'setAttachments',
        summary: "Set a run's attachments (S3 keys, blog post URL)",
        description: 'null or "" clears a field; other fields are refused by name.',
        security: WRITE_SECURITY,
        parameters: [
          {
            name: 'run_id',
            in: 'path',
            required: true,
            description: 'The run id, percent-encoded (encodeURIComponent): `lab%2Fmolecule-rl%2Fa1`.',
            schema: { type: 'string' },
          },
        ],
        requestBody: {
          required: true,
          content: json(ref('Attachments'), { blog_post_url: 'https://blog.example/mgda-drd5' }),
        },
        responses: {
          '200': { description: 'Set', content: json(ref('AttachmentsAnswer')) },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '403': response('Forbidden'),
          '404': response('NotFound'),
          '413': response('BodyTooLarge'),
          '415': response('UnsupportedMediaType'),
          ...COMMON_ERRORS,
        },
      },
    },
    '/compare': {
      get: {
        operationId: 'compareGroups',
        summary: 'Per group of `by`: n, mean, std, min and max of an objective or a field',
        description: 'Over the runs matching the filter that have a value. Runs on a query thread like GET /runs.',
        security: READ_SECURITY,
        parameters: [
          {
            name: 'by',
            in: 'query',
            required: true,
            description: 'The field to group by: `gradient_method`, `config.reward.beta`, ...',
            schema: { type: 'string' },
          },
          {
            name: 'objective',
            in: 'query',
            description: 'An objective name: its raw_mean is compared. Give this or `metric`.',
            schema: { type: 'string' },
          },
          {
            name: 'metric',
            in: 'query',
            description:
              'Any field: `summary."train/loss"`, `objective.QED.normalized_mean`. Give this or `objective`.',
            schema: { type: 'string' },
          },
          param('where'),
          param('mongo'),
          param('include_deleted'),
        ],
        responses: {
          '200': {
            description: 'The groups, best mean first',
            content: json(ref('Comparison'), {
              by: 'gradient_method',
              metric: 'objective.DRD5_activity',
              groups: [{ group: 'mgda', n: 12, mean: 0.71, std: 0.08, min: 0.55, max: 0.86 }],
            }),
          },
          '400': response('BadRequest'),
          '401': response('Unauthorized'),
          '503': response('Unavailable'),
          ...COMMON_ERRORS,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: `TRAINDB_API_TOKEN (reads and writes) or TRAINDB_READ_TOKEN (reads only); at least ${MIN_TOKEN_LENGTH} characters.`,
      },
    },
    parameters: {
      where: {
        name: 'where',
        in: 'query',
        description:
          "A filter in traindb's language: `gradient_method = 'mgda' and objective.DRD5_activity > 0.7`. Give this or `mongo`.",
        schema: { type: 'string' },
      },
      mongo: {
        name: 'mongo',
        in: 'query',
        description: 'A W&B-style Mongo filter as a JSON object: `{"state": "finished"}`. Give this or `where`.',
        schema: { type: 'string' },
      },
      columns: {
        name: 'columns',
        in: 'query',
        description: `Result columns, comma-separated (commas inside double quotes stay): any field, or \`*\` for every run column. At most ${MAX_COLUMNS}.`,
        schema: { type: 'string' },
      },
      order: {
        name: 'order',
        in: 'query',
        description:
          'Sort keys, comma-separated, `-` first for descending: `-objective.QED,run_id`. Default `-created_at`.',
        schema: { type: 'string' },
      },
      limit: {
        name: 'limit',
        in: 'query',
        description: `Runs per page, 1 to ${MAX_PAGE_SIZE}; a larger value is a 400 (follow \`next\` instead).`,
        schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
      },
      after: {
        name: 'after',
        in: 'query',
        description: 'The `next` of the previous page (opaque). Left out: the first page.',
        schema: { type: 'string' },
      },
      include_deleted: {
        name: 'include_deleted',
        in: 'query',
        description: 'Include runs marked deleted in W&B: true or false (also 1 or 0).',
        schema: { type: 'string', enum: ['true', 'false', '1', '0'], default: 'false' },
      },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error', 'code'],
        properties: {
          error: { type: 'string', description: 'What was wrong, naming the value and the fix.' },
          code: { type: 'string', enum: ERROR_CODES, description: 'Stable, for programs to branch on.' },
          details: { type: 'object', description: 'Facts about the error (a position, a limit), when known.' },
        },
      },
      Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
      Readiness: {
        type: 'object',
        required: ['status'],
        properties: {
          status: { enum: ['ready', 'not ready'] },
          failed: { type: 'array', items: { type: 'string' } },
          checks: {
            type: 'object',
            additionalProperties: {
              type: 'object',
              required: ['ok'],
              properties: { ok: { type: 'boolean' }, error: { type: 'string' }, detail: {} },
            },
          },
        },
      },
      RunsPage: {
        type: 'object',
        required: ['runs', 'count', 'total', 'next'],
        properties: {
          runs: {
            type: 'array',
            items: { type: 'object', description: 'One run: the requested columns, labelled as asked.' },
          },
          count: { type: 'integer', description: 'Runs in this page.' },
          total: { type: 'integer', description: 'Runs matching the filter, across all pages.' },
          next: { type: ['string', 'null'], description: 'Pass as `after` for the following page; null on the last.' },
        },
      },
      Comparison: {
        type: 'object',
        required: ['by', 'metric', 'groups'],
        properties: {
          by: { type: 'string' },
          metric: { type: 'string' },
          groups: {
            type: 'array',
            items: {
              type: 'object',
              required: ['group', 'n', 'mean', 'std', 'min', 'max'],
              properties: {
                group: { type: ['string', 'number', 'null'] },
                n: { type: 'integer' },
                mean: { type: ['number', 'null'] },
                std: { type: ['number', 'null'], description: 'Sample standard deviation; null for one run.' },
                min: { type: ['number', 'null'] },
                max: { type: ['number', 'null'] },
              },
            },
          },
        },
      },
      LaunchBody: {
        type: 'object',
        additionalProperties: false,
        properties: {
          run_id: {
            type: 'string',
            description: "The launch id; defaults to the config's launch id key (launch_id_key, default run_id).",
          },
          config: { type: 'object', description: "The run's config as the training script will log it." },
          config_yaml: { type: 'string', description: 'The config as YAML or JSON text, instead of `config`.' },
          host: { type: 'string' },
          instance_id: { type: 'string' },
          config_file_path: { type: 'string' },
          chain_of_custody_id: { type: 'string' },
        },
      },
      LaunchAnswer: {
        type: 'object',
        required: ['run_id', 'created', 'status'],
        properties: {
          run_id: { type: 'string' },
          created: { type: 'boolean' },
          status: { type: ['string', 'null'] },
        },
      },
      Attachments: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: Object.fromEntries(ATTACHMENT_FIELDS.map((f) => [f, { type: ['string', 'null'] }])),
      },
      AttachmentsAnswer: {
        type: 'object',
        required: ['run_id', 'updated'],
        properties: { run_id: { type: 'string' }, updated: { const: true } },
      },
    },
    responses: {
      BadRequest: {
        description: 'Bad input: a malformed parameter or body, an unknown field, a filter that does not parse',
        content: json(ref('Error'), {
          error: 'limit="abc" is not a whole number; give 1 to 1000',
          code: 'INVALID_INPUT',
        }),
      },
      Unauthorized: {
        description: 'A token is needed (see Access)',
        content: json(ref('Error')),
      },
      Forbidden: {
        description: 'The read-only token cannot write',
        content: json(ref('Error')),
      },
      NotFound: { description: 'No such run', content: json(ref('Error')) },
      BodyTooLarge: { description: `A body over ${MAX_BODY_BYTES} bytes`, content: json(ref('Error')) },
      UnsupportedMediaType: { description: 'The body is not application/json', content: json(ref('Error')) },
      UrlTooLong: { description: 'A URL over 32,768 characters', content: json(ref('Error')) },
      Misdirected: {
        description: 'On a loopback bind, a Host that is not loopback (DNS rebinding guard)',
        content: json(ref('Error')),
      },
      Unavailable: {
        description:
          'The query ran past the time limit (code QUERY_TIMEOUT) or too many queries wait (UNAVAILABLE); retry later',
        content: json(ref('Error'), {
          error:
            'the query ran longer than the query time limit (10 s) and was stopped; narrow the filter or ask for fewer rows or columns',
          code: 'QUERY_TIMEOUT',
          details: { timeoutMs: 10000 },
        }),
      },
      Internal: {
        description: 'A failure of traindb (details in the daemon log, never in the answer)',
        content: json(ref('Error')),
      },
    },
  },
};
