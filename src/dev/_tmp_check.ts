import { iterateRuns, generateRuns } from './generate/index.js';
const t0 = Date.now();
let n = 0, bytes = 0; const states: Record<string, number> = {}; let nan = 0, legacy = 0, flat = 0, strLr = 0, drd5hi=0, drd5=0;
const cfgCounts: number[] = []; const sumCounts: number[] = [];
for (const r of iterateRuns({ runs: 100000, seed: 7 })) {
  n++; bytes += (r.config as string).length + (r.summaryMetrics as string).length + (r.systemMetrics as string).length;
  states[r.state!] = (states[r.state!] ?? 0) + 1;
  const s = r.summaryMetrics as string; if (/"(NaN|Infinity|-Infinity)"/.test(s)) nan++;
  const c = r.config as string; if (c.includes('"desc":null')) legacy++; if (c.includes('"training.batch_size"')) flat++;
  if (/"learning_rate":\{?"?[^,]*"\de-\d"/.test(c) || /"training.learning_rate":\{("desc":null,)?"value":"/.test(c) || /"learning_rate":"/.test(c)) strLr++;
  if (n <= 2000) { const sum = JSON.parse(s); sumCounts.push(Object.keys(sum).length); const v = sum['objectives/DRD5_activity_maximize/raw_mean']; if (typeof v==='number'){drd5++; if (v>0.8) drd5hi++;} }
}
console.log('ms', Date.now() - t0, 'n', n, 'avg bytes', bytes / n, states, {nan, legacy, flat, strLr, drd5, drd5hi});
sumCounts.sort((a,b)=>a-b); console.log('summary keys p5/50/95', sumCounts[100], sumCounts[1000], sumCounts[1900]);
const [a] = generateRuns({ runs: 1, seed: 7 }); console.log(JSON.stringify(a).slice(0, 3000));
