import type { RunSpec } from './runs.js';

/**
 * A small project with known answers: 48 runs over 4 gradient methods, 4 batch sizes and 3 states,
 * with DRD5/COMT values spread so thresholds select a known minority. Expectations in tests are
 * computed from these specs in plain JS, independently of the SQL under test.
 */
export function corpus(): RunSpec[] {
  const methods = ['mgda', 'pcgrad', 'imtlg', 'aligned_mtl'];
  const states = ['finished', 'finished', 'crashed', 'running'];
  const specs: RunSpec[] = [];
  for (let i = 0; i < 48; i++) {
    const drd5 = ((i * 37) % 100) / 100;
    const comt = ((i * 53 + 11) % 100) / 100;
    specs.push({
      name: `r${String(i).padStart(3, '0')}`,
      state: states[i % states.length]!,
      gradient_method: methods[i % methods.length]!,
      batch_size: [16, 32, 64, 128][Math.floor(i / 4) % 4]!,
      learning_rate: i % 5 === 0 ? '1e-3' : 0.0001 * (1 + (i % 3)),
      gas: [1, 2, 4, 8, 16][i % 5]!,
      loss: 0.1 + (i % 10) / 10,
      kl: (i % 7) / 20,
      launchId: i % 3 === 0 ? `launch-${i}` : undefined,
      tags: i % 2 === 0 ? ['baseline'] : ['sweep', 'v2'],
      createdAt: `2026-03-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00`,
      updatedAt: `2026-03-${String(1 + (i % 28)).padStart(2, '0')}T23:30:00`,
      objectives: {
        DRD5_activity: ['maximize', drd5, 'P21918'],
        COMT_activity: ['maximize', comt, 'P21964'],
        ...(i % 4 === 0 ? { '5-HT2A_activity': ['maximize', 0.5, 'P28223'] as [string, number, string] } : {}),
        SA_score: ['minimize', i % 6 === 0 ? null : 3 + (i % 4)],
      },
      summaryOnly: i % 8 === 0 ? { 'pIC50.DRD1': ['maximize', 6.5] } : undefined,
    });
  }
  return specs;
}

export function expectedRunId(spec: RunSpec): string {
  return spec.launchId ?? `${spec.entity ?? 'lab'}/${spec.project ?? 'molecule-rl'}/${spec.name}`;
}

export function statusOf(spec: RunSpec): string {
  return ({ finished: 'completed', crashed: 'crashed', running: 'running' } as Record<string, string>)[
    spec.state ?? 'finished'
  ]!;
}
