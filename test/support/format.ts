/**
 * Compact, stable text renderings of core values for scenario transcripts and assertion
 * messages. Changing a format changes every scenario's expected output (regenerate with
 * `npm run test:scenario:rewrite` and review the diff).
 */
import {
  decodeConfigEntry,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type SnapshotMeta,
  type SoftState,
  type Status,
} from '../../src/raft/index.js';
import type { Ready } from '../../src/raft/ready.js';

const decoder = new TextDecoder();

export function formatEntry(e: Entry): string {
  if (e.type === 'noop') return `${e.term}/${e.index} noop`;
  if (e.type === 'config') {
    const d = decodeConfigEntry(e.data);
    if (typeof d === 'string') return `${e.term}/${e.index} config (${d})`;
    return `${e.term}/${e.index} config ${d.change.type} ${d.change.node} → ${formatConf(d.conf)}`;
  }
  const text = decoder.decode(e.data);
  return `${e.term}/${e.index} ${e.type} ${JSON.stringify(text)}`;
}

export function formatEntries(ents: readonly Entry[]): string {
  return `[${ents.map(formatEntry).join(', ')}]`;
}

/** `voters=[..]`, then learners and members' contexts (as text) when there are any. */
export function formatConf(c: ConfState): string {
  const learners = c.learners.length > 0 ? ` learners=[${c.learners.join(',')}]` : '';
  const contexts = (c.contexts ?? []).map((m) => `${m.id}:${decoder.decode(m.context)}`);
  return `voters=[${c.voters.join(',')}]${learners}${contexts.length > 0 ? ` contexts={${contexts.join(',')}}` : ''}`;
}

export function formatSnapshot(s: SnapshotMeta): string {
  return `${s.term}/${s.index} ${formatConf(s.confState)}`;
}

export function formatHardState(h: HardState): string {
  return `term=${h.term} vote=${h.vote} commit=${h.commit}`;
}

export function formatSoftState(s: SoftState): string {
  return `leader=${s.leader} role=${s.role}`;
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'vote':
      return `${head}${m.pre ? ' pre' : ''} last=${m.lastLogTerm}/${m.lastLogIndex}${m.transfer ? ' transfer' : ''}`;
    case 'vote-response':
      return `${head}${m.pre ? ' pre' : ''} ${m.reject ? 'rejected' : 'granted'}`;
    case 'append': {
      const ents = m.entries.length > 0 ? ` entries=${formatEntries(m.entries)}` : '';
      return `${head} prev=${m.prevLogTerm}/${m.prevLogIndex} commit=${m.commit}${ents}`;
    }
    case 'append-response':
      return m.reject ? `${head} rejected index=${m.index} hint=${m.hintTerm}/${m.hintIndex}` : `${head} index=${m.index}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}${m.context !== null ? ` ctx=${m.context}` : ''}`;
    case 'heartbeat-response':
      return `${head}${m.context !== null ? ` ctx=${m.context}` : ''}`;
    case 'snapshot':
      return `${head} snap=${formatSnapshot(m.snapshot)}`;
    case 'timeout-now':
      return head;
    case 'read-index':
      return `${head} ctx=${m.context}`;
    case 'read-index-response':
      return `${head} index=${m.index} ctx=${m.context}`;
  }
}

/** Multi-line rendering of a Ready, omitting empty parts. */
export function formatReady(rd: Ready): string[] {
  const out: string[] = [];
  if (rd.softState) out.push(`  soft: ${formatSoftState(rd.softState)}`);
  if (rd.hardState) out.push(`  hard: ${formatHardState(rd.hardState)}`);
  if (rd.snapshot) out.push(`  snapshot: ${formatSnapshot(rd.snapshot)}`);
  if (rd.entries.length > 0) {
    out.push('  entries:');
    for (const e of rd.entries) out.push(`    ${formatEntry(e)}`);
  }
  if (rd.committedEntries.length > 0) {
    out.push('  committed:');
    for (const e of rd.committedEntries) out.push(`    ${formatEntry(e)}`);
  }
  if (rd.messages.length > 0) {
    out.push('  send now:');
    for (const m of rd.messages) out.push(`    ${formatMessage(m)}`);
  }
  if (rd.persistedMessages.length > 0) {
    out.push('  send after persist:');
    for (const m of rd.persistedMessages) out.push(`    ${formatMessage(m)}`);
  }
  if (rd.readStates.length > 0) {
    out.push('  read states:');
    for (const r of rd.readStates) out.push(`    index=${r.index} ctx=${r.context}`);
  }
  return out;
}

export function formatStatus(s: Status): string[] {
  const out = [
    `${s.id}: role=${s.role} term=${s.term} vote=${s.vote} leader=${s.leader} commit=${s.commit} applied=${s.applied} log=${s.firstIndex}..${s.lastIndex}${s.leadTransferee !== 0 ? ` transferee=${s.leadTransferee}` : ''}`,
  ];
  for (const p of s.progress) {
    out.push(
      `  ${p.id}: match=${p.match} next=${p.next} ${p.state}${p.isLearner ? ' learner' : ''}${p.paused ? ' paused' : ''}${p.inflight > 0 ? ` inflight=${p.inflight}` : ''}${p.recentActive ? ' active' : ''}`,
    );
  }
  return out;
}
