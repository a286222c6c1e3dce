/**
 * `Ready`: one batch of work the core hands its driver, and the order the driver must do it in.
 *
 *   1. Persist `hardState`, `entries` and `snapshot` together in one synced write.
 *   2. Send `messages` (these may go before step 1 completes) and, only once step 1 is durable,
 *      `persistedMessages`.
 *   3. Install `snapshot` into the state machine, then apply `committedEntries` in order and
 *      serve `readStates` once applied ≥ their index. Committed entries that were durable here
 *      before this Ready (index ≤ the stored log's last index) may be applied before step 1
 *      completes; the rest are among this Ready's `entries` and wait for step 1.
 *   4. Call `advance()`.
 *
 * While step 1 is in flight the driver may take more committed entries (`takeCommitted`) and
 * read states (`takeReadStates`) from the RawNode, after applying this Ready's durable ones.
 *
 * Why two message lists: a vote reply or an append acknowledgement claims that something is on
 * disk (Raft Figure 2: "respond to RPCs" comes after "update stable storage"). Putting those
 * messages in their own list makes the ordering a property of the types, not of care in each
 * handler. Every message of a Ready that changes the term or vote is held back too, so no
 * message ever speaks for a term this node has not durably adopted.
 */
import type { Entry, HardState, Message, MessageType, ReadState, SnapshotMeta, SoftState } from './types.js';

export interface Ready {
  /** Present when role or leader changed since the previous Ready. Not persisted. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed: persist it. */
  readonly hardState?: HardState;
  /** Entries to persist, in order; they replace any stored entries from their first index on. */
  readonly entries: readonly Entry[];
  /** A snapshot to persist and install: the whole stored log is replaced by it. */
  readonly snapshot?: SnapshotMeta;
  /** Committed entries to apply, in order (see step 3 for when). */
  readonly committedEntries: readonly Entry[];
  /** Messages that may be sent at once, even before this Ready is persisted. */
  readonly messages: readonly Message[];
  /** Messages that may be sent only after this Ready's persisted state is durable. */
  readonly persistedMessages: readonly Message[];
  /** ReadIndex results: serve each read once the state machine has applied its index. */
  readonly readStates: readonly ReadState[];
  /** True when the write must be fsynced (term, vote, entries or snapshot changed). */
  readonly mustSync: boolean;
}

/** Message types that claim durable state and so always wait for the Ready's persistence. */
const CLAIMS_DURABLE_STATE: ReadonlySet<MessageType> = new Set<MessageType>(['vote-response', 'append-response']);

/**
 * Whether `m` claims that something is on disk (a vote granted, entries acknowledged), so that
 * it may leave only once the Ready it belongs to is persisted.
 */
export function claimsDurableState(m: Message): boolean {
  return CLAIMS_DURABLE_STATE.has(m.type);
}

/**
 * Splits messages into those that may go now and those that must wait for persistence.
 * `termOrVoteChanged`: this Ready changes term or vote, so every message waits.
 */
export function splitMessages(msgs: readonly Message[], termOrVoteChanged: boolean): { messages: Message[]; persistedMessages: Message[] } {
  if (termOrVoteChanged) return { messages: [], persistedMessages: [...msgs] };
  const messages: Message[] = [];
  const persistedMessages: Message[] = [];
  for (const m of msgs) (claimsDurableState(m) ? persistedMessages : messages).push(m);
  return { messages, persistedMessages };
}
