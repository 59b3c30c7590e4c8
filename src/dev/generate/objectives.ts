/**
 * The users' objectives: protein-activity predictions (carry a UniProt accession) and molecular
 * properties (do not). Names deliberately include '-' and '.' (`5-HT2A_activity`, `pIC50.DRD1`):
 * those characters break naive column names and W&B's dotted filter paths, which is what the mirror
 * has to survive.
 */
import type { Random } from './prng.js';
import { round } from './prng.js';

export type Direction = 'maximize' | 'minimize';

/** How raw values of an objective are distributed (drives realistic summary numbers). */
export type RawScale = 'probability' | 'qed' | 'sa' | 'logp' | 'mw' | 'tpsa' | 'pchembl' | 'count';

export interface ObjectiveDef {
  name: string;
  direction: Direction;
  uniprot?: string;
  scale: RawScale;
  /** Relative frequency with which runs include this objective. */
  popularity: number;
}

export const OBJECTIVE_POOL: readonly ObjectiveDef[] = [
  { name: 'DRD5_activity', direction: 'maximize', uniprot: 'P21918', scale: 'probability', popularity: 8 },
  { name: 'COMT_activity', direction: 'maximize', uniprot: 'P21964', scale: 'probability', popularity: 7 },
  { name: 'QED', direction: 'maximize', scale: 'qed', popularity: 9 },
  { name: 'SA_score', direction: 'minimize', scale: 'sa', popularity: 8 },
  { name: '5-HT2A_activity', direction: 'maximize', uniprot: 'P28223', scale: 'probability', popularity: 5 },
  { name: 'pIC50.DRD1', direction: 'maximize', uniprot: 'P21728', scale: 'pchembl', popularity: 4 },
  { name: 'DRD2_activity', direction: 'maximize', uniprot: 'P14416', scale: 'probability', popularity: 6 },
  { name: 'HTR1A_activity', direction: 'maximize', uniprot: 'P08908', scale: 'probability', popularity: 4 },
  { name: 'logP', direction: 'maximize', scale: 'logp', popularity: 5 },
  { name: 'DRD3_activity', direction: 'maximize', uniprot: 'P35462', scale: 'probability', popularity: 3 },
  { name: 'DRD4_activity', direction: 'maximize', uniprot: 'P21917', scale: 'probability', popularity: 2 },
  { name: 'pIC50.DRD2', direction: 'maximize', uniprot: 'P14416', scale: 'pchembl', popularity: 3 },
  { name: 'pKi.5-HT1A', direction: 'maximize', uniprot: 'P08908', scale: 'pchembl', popularity: 2 },
  { name: 'HTR2C_activity', direction: 'minimize', uniprot: 'P28335', scale: 'probability', popularity: 2 },
  { name: 'ADRA2A_activity', direction: 'minimize', uniprot: 'P08913', scale: 'probability', popularity: 2 },
  { name: 'SLC6A4_activity', direction: 'maximize', uniprot: 'P31645', scale: 'probability', popularity: 2 },
  { name: 'MAOB_activity', direction: 'maximize', uniprot: 'P27338', scale: 'probability', popularity: 2 },
  { name: 'hERG_inhibition', direction: 'minimize', uniprot: 'Q12809', scale: 'probability', popularity: 4 },
  { name: 'CYP3A4_inhibition', direction: 'minimize', uniprot: 'P08684', scale: 'probability', popularity: 2 },
  { name: 'CYP2D6_inhibition', direction: 'minimize', uniprot: 'P10635', scale: 'probability', popularity: 2 },
  { name: 'ADORA2A_activity', direction: 'maximize', uniprot: 'P29274', scale: 'probability', popularity: 1 },
  { name: 'MW', direction: 'minimize', scale: 'mw', popularity: 3 },
  { name: 'TPSA', direction: 'minimize', scale: 'tpsa', popularity: 2 },
  { name: 'num_rotatable_bonds', direction: 'minimize', scale: 'count', popularity: 1 },
  { name: 'BBB_permeability', direction: 'maximize', scale: 'probability', popularity: 2 },
];

/** One entry of `config.objectives`, exactly as the users' training YAML writes it. */
export interface ObjectiveConfig {
  name: string;
  alias: string;
  weight: number;
  direction: Direction;
  params?: Record<string, unknown>;
}

export function objectiveAlias(def: Pick<ObjectiveDef, 'name' | 'direction'>): string {
  return `${def.name}_${def.direction}`;
}

/** Chooses 3–20 distinct objectives, weighted by popularity; small sets are the common case. */
export function chooseObjectives(rng: Random): ObjectiveDef[] {
  const count = rng.weighted<number>([
    [3, 12],
    [4, 14],
    [5, 14],
    [6, 11],
    [7, 8],
    [8, 7],
    [9, 5],
    [10, 5],
    [11, 3],
    [12, 3],
    [13, 2],
    [14, 2],
    [15, 2],
    [16, 2],
    [17, 1],
    [18, 1],
    [19, 1],
    [20, 1],
  ]);
  const remaining = OBJECTIVE_POOL.slice();
  const chosen: ObjectiveDef[] = [];
  while (chosen.length < count && remaining.length > 0) {
    const def = rng.weighted(remaining.map((d) => [d, d.popularity] as const));
    chosen.push(def);
    remaining.splice(remaining.indexOf(def), 1);
  }
  return chosen;
}

export function objectiveConfig(def: ObjectiveDef, rng: Random, equalWeights: boolean): ObjectiveConfig {
  const cfg: ObjectiveConfig = {
    name: def.name,
    alias: objectiveAlias(def),
    weight: equalWeights ? 1.0 : round(rng.float(0.1, 2), 2),
    direction: def.direction,
  };
  if (def.uniprot) {
    const params: Record<string, unknown> = { uniprot: def.uniprot };
    if (rng.chance(0.3)) params.threshold = round(rng.float(0.5, 0.9), 2);
    if (rng.chance(0.2)) params.model = rng.pick(['chemprop-v2', 'rf-ecfp4', 'gnn-ensemble']);
    cfg.params = params;
  } else if (rng.chance(0.5)) {
    // Property objectives: sometimes an empty params dict, sometimes none at all (both occur in YAMLs).
    cfg.params = {};
  }
  return cfg;
}

/** A plausible raw mean for an objective's scale. Probabilities are skewed low so "> 0.8" is a minority. */
export function rawMean(scale: RawScale, rng: Random, progress: number): number {
  const p = Math.min(1, Math.max(0, progress));
  switch (scale) {
    case 'probability':
      return round(Math.min(1, Math.max(0, rng.next() ** 1.8 * (0.55 + 0.45 * p) + rng.normal() * 0.03)), 6);
    case 'qed':
      return round(rng.float(0.25, 0.55) + 0.35 * p * rng.next(), 6);
    case 'sa':
      return round(rng.float(2.2, 5.5) - 0.8 * p * rng.next(), 6);
    case 'logp':
      return round(rng.float(-0.5, 4.8), 6);
    case 'mw':
      return round(rng.float(260, 520), 4);
    case 'tpsa':
      return round(rng.float(25, 130), 4);
    case 'pchembl':
      return round(rng.float(4.5, 7.2) + 1.2 * p * rng.next(), 6);
    case 'count':
      return round(rng.float(1.5, 9), 4);
  }
}

export function rawStd(scale: RawScale, rng: Random): number {
  switch (scale) {
    case 'probability':
    case 'qed':
      return round(rng.float(0.02, 0.3), 6);
    case 'sa':
    case 'logp':
    case 'pchembl':
    case 'count':
      return round(rng.float(0.2, 1.8), 6);
    case 'mw':
    case 'tpsa':
      return round(rng.float(10, 80), 4);
  }
}
