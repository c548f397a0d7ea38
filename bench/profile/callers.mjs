// Who calls a function (by self time): node bench/profile/callers.mjs file.cpuprofile <functionName> [depth]
import { readFileSync } from 'node:fs';
const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const name = process.argv[3];
const depth = Number(process.argv[4] ?? 4);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => `${n.callFrame.functionName || '(anon)'}@${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
const stacks = new Map();
let total = 0;
profile.samples.forEach((id, k) => {
  const d = profile.timeDeltas[k] ?? 0;
  total += d;
  const n = byId.get(id);
  if (n.callFrame.functionName !== name) return;
  const chain = [];
  let p = parent.get(id);
  while (p !== undefined && chain.length < depth) {
    chain.push(label(byId.get(p)));
    p = parent.get(p);
  }
  const key = chain.join(' < ');
  stacks.set(key, (stacks.get(key) ?? 0) + d);
});
for (const [k, v] of [...stacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
