import { World } from './world.js';
import { SimClients } from './clients.js';
import { Nemesis } from './nemesis.js';
const w = new World({ seed: Number(process.argv[2] ?? 2), events: 2000, nodes: 5 });
const c = new SimClients(w, 3); const n = new Nemesis(w);
c.start(); n.start();
while (w.processed < 2000 && w.step()) {}
n.stopAndHeal(); c.stopIssuing();
const end = w.now + 3000;
while (w.now < end && w.step()) {}
for (const node of w.nodes) { const s = node.status(); console.log(node.id, node.up, node.paused, s.role, 'term', s.term, 'lead', s.leader, 'commit', s.commit, 'applied', s.applied, 'last', s.lastIndex, 'first', s.firstIndex, JSON.stringify(s.progress.map(p=>[p.id,p.match,p.next,p.state,p.paused,p.inflight]))); }
for (const op of c.history.filter(o => o.status === 'pending')) console.log(op);
console.log('drop', w.net.dropP, 'violations', w.checker.violations);
