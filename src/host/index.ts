/**
 * The host: the one place where I/O meets consensus. {@link RaftHost} runs the ready loop over
 * a durable log, a snapshot store, a peer transport and a replicated state machine, and tracks
 * the proposals and reads waiting on it. See docs/design.md#layers.
 */
export { RaftHost, type HostOptions, type HostTestingKnobs, type ProposeOutcome, type ReadOutcome } from './raft-host.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
