// Self time per operation, B minus A, by function: node bench/profile/diff.mjs a.cpuprofile opsA b.cpuprofile opsB
import { readFileSync } from 'node:fs';
function selfTimes(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Map();
  p.samples.forEach((id, k) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    out.set(key, (out.get(key) ?? 0) + (p.timeDeltas[k] ?? 0));
  });
  return out;
}
const [fa, na, fb, nb] = process.argv.slice(2);
const a = selfTimes(fa), b = selfTimes(fb);
const keys = new Set([...a.keys(), ...b.keys()]);
const rows = [...keys].filter((k) => !k.startsWith('(idle)')).map((k) => [k, (b.get(k) ?? 0) / Number(nb) - (a.get(k) ?? 0) / Number(na)]);
rows.sort((x, y) => y[1] - x[1]);
let total = 0;
for (const [, v] of rows) total += v;
console.log(`total non-idle difference: ${total.toFixed(1)} µs per op`);
for (const [k, v] of rows.slice(0, 25)) console.log(`${v.toFixed(1).padStart(7)} µs  ${k}`);
