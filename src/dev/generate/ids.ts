/**
 * Run ids and display names. W&B run ids are 8 random lowercase base36 characters; generated ids must
 * also be unique within a data set without remembering every id issued (100K runs), so the id is a
 * keyed permutation of the run index: a Feistel network over 42 bits, cycle-walked into 36^8.
 */
import { deriveSeed, mix32 } from './prng.js';

const HALF_BITS = 21;
const HALF = 2 ** HALF_BITS;
const HALF_MASK = HALF - 1;
const ID_SPACE = 36 ** 8;
const ROUNDS = 4;

function permute42(x: number, keys: readonly number[]): number {
  let left = Math.floor(x / HALF);
  let right = x % HALF;
  for (const key of keys) {
    const f = mix32(right ^ key) & HALF_MASK;
    const next = left ^ f;
    left = right;
    right = next;
  }
  return left * HALF + right;
}

/** Returns a function mapping a run index (< 36^8) to a unique 8-character base36 id for this seed. */
export function runIdFactory(seed: number): (index: number) => string {
  const keys = Array.from({ length: ROUNDS }, (_, r) => deriveSeed(seed, 0x1d5, r));
  return (index: number) => {
    if (!Number.isInteger(index) || index < 0 || index >= ID_SPACE)
      throw new RangeError(`run index out of range: ${index}`);
    // Cycle walking: a permutation of [0, 2^42) restricted to [0, 36^8) stays a permutation.
    let x = permute42(index, keys);
    while (x >= ID_SPACE) x = permute42(x, keys);
    return x.toString(36).padStart(8, '0');
  };
}

export const ADJECTIVES = [
  'eager',
  'bright',
  'calm',
  'daring',
  'fancy',
  'gentle',
  'happy',
  'jolly',
  'kind',
  'lively',
  'misty',
  'noble',
  'proud',
  'quiet',
  'rosy',
  'silver',
  'swift',
  'vivid',
  'wise',
  'zesty',
  'amber',
  'azure',
  'breezy',
  'cosmic',
  'crimson',
  'dainty',
  'dashing',
  'denim',
  'distinctive',
  'driven',
  'dry',
  'earthy',
  'efficient',
  'electric',
  'ethereal',
  'faithful',
  'fiery',
  'fluent',
  'fragrant',
  'frosty',
  'glad',
  'golden',
  'graceful',
  'hardy',
  'helpful',
  'honest',
  'icy',
  'iconic',
  'jumping',
  'leafy',
  'lucky',
  'magic',
  'major',
  'mild',
  'morning',
  'northern',
  'olive',
  'peach',
  'polished',
  'pretty',
  'pleasant',
  'radiant',
  'royal',
  'rural',
  'sandy',
  'scarlet',
  'serene',
  'sleek',
  'smart',
  'snowy',
  'solar',
  'splendid',
  'stellar',
  'still',
  'sunny',
  'super',
  'sweet',
  'twilight',
  'unique',
  'upbeat',
  'valiant',
  'vital',
  'wandering',
  'warm',
  'wild',
  'woven',
  'young',
] as const;

export const NOUNS = [
  'fox',
  'river',
  'sky',
  'mountain',
  'forest',
  'wave',
  'star',
  'moon',
  'sun',
  'breeze',
  'cloud',
  'dream',
  'field',
  'flower',
  'frog',
  'galaxy',
  'glade',
  'grass',
  'haze',
  'hill',
  'lake',
  'leaf',
  'meadow',
  'night',
  'oath',
  'paper',
  'pine',
  'pond',
  'rain',
  'resonance',
  'sea',
  'shadow',
  'shape',
  'silence',
  'smoke',
  'snow',
  'sound',
  'spaceship',
  'spark',
  'spring',
  'sunset',
  'surf',
  'terrain',
  'thunder',
  'tree',
  'valley',
  'violet',
  'voice',
  'water',
  'wildflower',
  'wind',
  'wood',
  'yogurt',
  'durian',
  'elevator',
  'energy',
  'feather',
  'firebrand',
  'fog',
  'gorge',
  'harbor',
  'jazz',
  'kumquat',
  'lion',
  'microwave',
  'music',
  'oath',
  'planet',
  'plasma',
  'puddle',
  'salad',
  'serenity',
  'sponge',
  'totem',
  'universe',
  'vortex',
  'waterfall',
  'brook',
] as const;
