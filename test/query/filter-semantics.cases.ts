/**
 * What a filter means, as data: a handful of runs and, for each filter (text or W&B Mongo object), the
 * runs it matches. Every engine (SQLite today, PostgreSQL later) must pass every case; the rules are
 * written out in the README ("The filter language"):
 *
 *  - Two-valued logic: a condition on a missing value (absent, null, NaN or an empty list) is false;
 *    `not` makes it true.
 *  - `a != v`, `a not in (...)`, `a not like p` ($ne, $nin) are exactly `not (a = v)` etc.: a run
 *    without `a` matches them, and on a list they mean "no element".
 *  - A list value (tags, a config list) matches when any element does.
 *  - Types: a text bound compares only with text, a number bound only with numbers. Number-shaped
 *    text ('7', '1e-4') is a number, as normalization stores it; booleans are 1 and 0.
 *  - `like` and `~` match the text form of a value (a number 5 is '5'); `like` ignores the case of ASCII
 *    letters, `~` is case-sensitive unless the pattern says `(?i)`.
 *  - `= null` is an error: use `is null` / `is not null` (Mongo: `null`, `$exists`).
 */

/** A run as W&B sends it, reduced to what the cases use; `name` is also its display name. */
export interface SemanticsRun {
  name: string;
  config: Record<string, unknown>;
  summary?: Record<string, unknown>;
  tags?: string[];
  jobType?: string;
}

export const RUNS: readonly SemanticsRun[] = [
  {
    name: 'adam',
    config: { optimizer: 'adam', layers: [1, 2, 3], flag: true, lr: '1e-4', batch_size: 64 },
    summary: { loss: 0.5 },
    tags: ['baseline', 'sweep'],
    jobType: 'train',
  },
  {
    name: 'five',
    config: { optimizer: 5, layers: [4], flag: false, lr: 0.01, batch_size: 32 },
    summary: { loss: 'NaN' },
    tags: ['sweep'],
    jobType: 'eval',
  },
  { name: 'sgd', config: { optimizer: 'sgd', layers: [], flag: 'yes', lr: 0.001 }, summary: { loss: 2 } },
  { name: 'seven', config: { optimizer: '7', batch_size: 128 }, tags: ['Baseline'] },
  { name: 'nullopt', config: { optimizer: null, layers: null }, jobType: 'train' },
  { name: 'bare', config: {} },
];

export type Filter = string | Record<string, unknown>;
export interface SemanticsCase {
  filter: Filter;
  /** The names of the matching runs, in any order; or the error a bad filter must give. */
  expect: readonly string[] | { error: RegExp };
  why?: string;
}

const ALL = RUNS.map((r) => r.name);
const except = (...names: string[]) => ALL.filter((n) => !names.includes(n));

export const CASES: readonly SemanticsCase[] = [
  // Equality and its negation on a single-valued attribute, with missing values.
  { filter: "config.optimizer = 'adam'", expect: ['adam'] },
  { filter: "config.optimizer != 'adam'", expect: except('adam'), why: 'missing values match a negation' },
  { filter: "not config.optimizer = 'adam'", expect: except('adam') },
  { filter: { 'config.optimizer': { $ne: 'adam' } }, expect: except('adam') },
  { filter: { 'config.optimizer': { $not: { $eq: 'adam' } } }, expect: except('adam') },
  { filter: "config.optimizer = 'adam' or config.optimizer != 'adam'", expect: ALL, why: 'two-valued logic' },
  { filter: "config.optimizer = 'adam' and config.optimizer != 'adam'", expect: [] },
  // Numbers against text.
  { filter: "config.optimizer < 'b'", expect: ['adam'], why: 'a text bound never matches the number 5' },
  { filter: "config.optimizer <= 'sgd'", expect: ['adam', 'sgd'] },
  { filter: "config.optimizer > 'b'", expect: ['sgd'] },
  { filter: 'config.optimizer < 6', expect: ['five'], why: 'a number bound never matches text' },
  { filter: 'config.optimizer > 6', expect: ['seven'], why: "'7' is stored as the number 7" },
  { filter: 'config.optimizer >= 0', expect: ['five', 'seven'] },
  { filter: "config.optimizer = '7'", expect: ['seven'] },
  { filter: 'config.optimizer = 7', expect: ['seven'] },
  { filter: "config.optimizer = '5'", expect: ['five'] },
  { filter: { 'config.optimizer': { $lt: 'b' } }, expect: ['adam'] },
  { filter: { 'config.optimizer': { $gt: 6 } }, expect: ['seven'] },
  { filter: 'config.lr = 0.0001', expect: ['adam'], why: "'1e-4' is a number" },
  { filter: 'config.lr < 0.005', expect: ['adam', 'sgd'] },
  // Missing values.
  { filter: 'config.optimizer is null', expect: ['nullopt', 'bare'] },
  { filter: 'config.optimizer is not null', expect: ['adam', 'five', 'sgd', 'seven'] },
  { filter: 'not config.optimizer is null', expect: ['adam', 'five', 'sgd', 'seven'] },
  { filter: { 'config.optimizer': null }, expect: ['nullopt', 'bare'] },
  { filter: { 'config.optimizer': { $exists: false } }, expect: ['nullopt', 'bare'] },
  { filter: { 'config.optimizer': { $exists: true } }, expect: ['adam', 'five', 'sgd', 'seven'] },
  { filter: { 'config.optimizer': { $ne: null } }, expect: ['adam', 'five', 'sgd', 'seven'] },
  { filter: 'config.optimizer = null', expect: { error: /use 'is null'/ } },
  // Lists.
  { filter: "config.optimizer in ('adam', 5)", expect: ['adam', 'five'] },
  { filter: "config.optimizer not in ('adam', 5)", expect: except('adam', 'five') },
  { filter: { 'config.optimizer': { $in: ['adam', 5] } }, expect: ['adam', 'five'] },
  { filter: { 'config.optimizer': { $nin: ['adam', 5] } }, expect: except('adam', 'five') },
  { filter: { 'config.optimizer': { $in: [null, 'adam'] } }, expect: ['adam', 'nullopt', 'bare'] },
  { filter: { 'config.optimizer': { $nin: [null, 'adam'] } }, expect: ['five', 'sgd', 'seven'] },
  // Patterns match the text form of a value.
  { filter: "config.optimizer like 'a%'", expect: ['adam'] },
  { filter: "config.optimizer not like 'a%'", expect: except('adam') },
  { filter: "config.optimizer ~ '^s'", expect: ['sgd'] },
  { filter: "config.optimizer ~ '^5$'", expect: ['five'] },
  { filter: "not config.optimizer ~ '^s'", expect: except('sgd') },
  { filter: { 'config.optimizer': { $regex: '^(a|s)' } }, expect: ['adam', 'sgd'] },
  { filter: "config.optimizer ~ '(?i)^ADAM$'", expect: ['adam'], why: 'RE2 inline flags' },
  { filter: "config.optimizer ~ '(a)\\1'", expect: { error: /backreferences/ } },
  // Multi-valued: tags and config lists match when any element does; negations when none does.
  { filter: "tags = 'baseline'", expect: ['adam'] },
  { filter: "tags != 'baseline'", expect: except('adam'), why: "runs without tags have no 'baseline'" },
  { filter: "tags not in ('baseline')", expect: except('adam') },
  { filter: { tags: { $nin: ['baseline'] } }, expect: except('adam') },
  { filter: { tags: { $ne: 'baseline' } }, expect: except('adam') },
  { filter: "tags in ('baseline', 'sweep')", expect: ['adam', 'five'] },
  { filter: "tags like 'b%'", expect: ['adam', 'seven'], why: 'like ignores the case of ASCII letters' },
  { filter: "tags not like 'b%'", expect: except('adam', 'seven') },
  { filter: "tags = 'Baseline'", expect: ['seven'] },
  { filter: 'tags is null', expect: ['sgd', 'nullopt', 'bare'] },
  { filter: 'tags is not null', expect: ['adam', 'five', 'seven'] },
  { filter: 'config.layers = 2', expect: ['adam'] },
  { filter: 'config.layers > 3', expect: ['five'] },
  { filter: 'config.layers != 2', expect: except('adam') },
  { filter: 'not config.layers > 1', expect: ['sgd', 'seven', 'nullopt', 'bare'], why: 'no element > 1' },
  { filter: 'config.layers is null', expect: ['sgd', 'seven', 'nullopt', 'bare'], why: 'an empty list is missing' },
  // Booleans are 1 and 0; the text 'yes' is text.
  { filter: 'config.flag = true', expect: ['adam'] },
  { filter: 'config.flag = 1', expect: ['adam'] },
  { filter: 'config.flag = false', expect: ['five'] },
  { filter: "config.flag = 'yes'", expect: ['sgd'] },
  { filter: { 'config.flag': true }, expect: ['adam'] },
  // Summary values: NaN (W&B writes it as "NaN") is a missing value for filters.
  { filter: 'summary.loss < 1', expect: ['adam'] },
  { filter: 'summary.loss >= 0', expect: ['adam', 'sgd'] },
  { filter: 'summary.loss is null', expect: ['five', 'seven', 'nullopt', 'bare'] },
  { filter: 'summary.loss != 2', expect: except('sgd') },
  // Columns follow the same rules: a missing value (NULL) fails a comparison and passes its negation.
  { filter: "job_type = 'train'", expect: ['adam', 'nullopt'] },
  { filter: "job_type != 'train'", expect: except('adam', 'nullopt') },
  { filter: "job_type not in ('train', 'eval')", expect: ['sgd', 'seven', 'bare'] },
  { filter: "job_type not like 't%'", expect: except('adam', 'nullopt') },
  { filter: { jobType: { $ne: 'train' } }, expect: except('adam', 'nullopt') },
  { filter: 'job_type is null', expect: ['sgd', 'seven', 'bare'] },
  { filter: 'batch_size >= 64', expect: ['adam', 'seven'] },
  { filter: "batch_size < 'b'", expect: [], why: 'a text bound never matches a number column' },
  { filter: "batch_size = '64'", expect: ['adam'] },
  { filter: 'not batch_size >= 64', expect: ['five', 'sgd', 'nullopt', 'bare'] },
  { filter: "run_name > 'nullopt'", expect: ['sgd', 'seven'] },
  { filter: "run_name in ('adam', 'bare')", expect: ['adam', 'bare'] },
  // Nesting and De Morgan.
  { filter: "not (config.optimizer = 'adam' or tags = 'sweep')", expect: ['sgd', 'seven', 'nullopt', 'bare'] },
  { filter: "not (config.optimizer = 'adam' and tags = 'sweep')", expect: except('adam') },
  {
    filter: { $nor: [{ 'config.optimizer': 'adam' }, { tags: 'sweep' }] },
    expect: ['sgd', 'seven', 'nullopt', 'bare'],
  },
  { filter: { $or: [{ tags: 'baseline' }, { 'config.optimizer': 5 }] }, expect: ['adam', 'five'] },
  { filter: '', expect: ALL },
  { filter: {}, expect: ALL },
];
