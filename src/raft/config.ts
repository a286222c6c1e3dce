/**
 * Configuration of one Raft node, and its validation. Invalid configuration is an expected
 * outcome (an operator's mistake), so it is reported as typed errors, never thrown.
 */
import { silentLogger, type Logger } from './logger.js';
import type { RandomSource } from './rng.js';
import type { Storage } from './storage.js';
import type { NodeId } from './types.js';

/**
 * Switches that deliberately break a rule, for the negative controls of the test suites only.
 * The server's configuration loader never sets them.
 */
export interface UnsafeTestingKnobs {
  /** Commit an earlier term's entry by counting replicas (violates Raft §5.4.2 / Figure 8). */
  readonly commitPriorTerm?: boolean;
  /**
   * Step every peer message addressed to this node without the checks of `Raft.refusal`, as
   * etcd-io/raft does: a forged message can then reach a fail-stop invariant
   * (docs/design.md#security).
   */
  readonly skipPeerMessageChecks?: boolean;
  /**
   * Accept a membership change while another is uncommitted or before this leader has
   * committed an entry of its term (violates the single-server rule, docs/design.md#membership).
   */
  readonly concurrentConfChanges?: boolean;
}

export interface RaftConfig {
  /** This node's id (> 0). */
  readonly id: NodeId;
  /** The durable state written so far (empty for a new node). */
  readonly storage: Storage;
  /** Ticks without hearing from a leader before campaigning (≥ 1, > heartbeatTick). */
  readonly electionTick: number;
  /** Ticks between leader heartbeats (≥ 1). */
  readonly heartbeatTick: number;
  /** Election jitter source. */
  readonly random: RandomSource;
  /** Index the application has already applied (restart); defaults to the snapshot index. */
  readonly applied?: number;
  /** Most bytes of entries in one append message (default 1 MiB; at least one entry is sent). */
  readonly maxSizePerMsg?: number;
  /** Most append messages in flight to one follower (default 256). */
  readonly maxInflightMsgs?: number;
  /** Most entry bytes in flight to one follower; 0 = unlimited (default 16 MiB). */
  readonly maxInflightBytes?: number;
  /** Most bytes of committed entries handed out in one Ready (default 8 MiB). */
  readonly maxCommittedSizePerReady?: number;
  /** PreVote (thesis §9.6); default true. */
  readonly preVote?: boolean;
  /** CheckQuorum (thesis §6.2); default true. */
  readonly checkQuorum?: boolean;
  /** Receives the core's diagnostic events (default: {@link silentLogger}). */
  readonly logger?: Logger;
  readonly unsafeTestingKnobs?: UnsafeTestingKnobs;
}

/** A configuration with every default filled in. */
export interface ResolvedRaftConfig {
  readonly id: NodeId;
  readonly storage: Storage;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly random: RandomSource;
  readonly applied: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  readonly maxCommittedSizePerReady: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly logger: Logger;
  readonly unsafeTestingKnobs: UnsafeTestingKnobs;
}

/** One reason a configuration was refused, naming the offending field. */
export interface ConfigError {
  readonly field: keyof RaftConfig;
  readonly message: string;
}

export type ConfigResult =
  { readonly ok: true; readonly config: ResolvedRaftConfig } | { readonly ok: false; readonly errors: readonly ConfigError[] };

/** Checks `config` and fills in defaults. */
export function validateRaftConfig(config: RaftConfig): ConfigResult {
  const errors: ConfigError[] = [];
  const positiveInt = (field: keyof RaftConfig, v: number | undefined, min: number): void => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) {
      errors.push({ field, message: `${field} must be an integer ≥ ${min}, got ${String(v)}` });
    }
  };
  positiveInt('id', config.id, 1);
  positiveInt('electionTick', config.electionTick, 1);
  positiveInt('heartbeatTick', config.heartbeatTick, 1);
  positiveInt('applied', config.applied, 0);
  positiveInt('maxSizePerMsg', config.maxSizePerMsg, 1);
  positiveInt('maxInflightMsgs', config.maxInflightMsgs, 1);
  positiveInt('maxInflightBytes', config.maxInflightBytes, 0);
  positiveInt('maxCommittedSizePerReady', config.maxCommittedSizePerReady, 1);
  if (errors.length === 0 && config.electionTick <= config.heartbeatTick) {
    errors.push({
      field: 'electionTick',
      message: `electionTick (${config.electionTick}) must be greater than heartbeatTick (${config.heartbeatTick})`,
    });
  }
  const maxSizePerMsg = config.maxSizePerMsg ?? 1024 * 1024;
  const maxInflightBytes = config.maxInflightBytes ?? 16 * 1024 * 1024;
  if (maxInflightBytes !== 0 && maxInflightBytes < maxSizePerMsg) {
    errors.push({
      field: 'maxInflightBytes',
      message: `maxInflightBytes (${maxInflightBytes}) must be 0 or at least maxSizePerMsg (${maxSizePerMsg})`,
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      id: config.id,
      storage: config.storage,
      electionTick: config.electionTick,
      heartbeatTick: config.heartbeatTick,
      random: config.random,
      applied: config.applied ?? 0,
      maxSizePerMsg,
      maxInflightMsgs: config.maxInflightMsgs ?? 256,
      maxInflightBytes,
      maxCommittedSizePerReady: config.maxCommittedSizePerReady ?? 8 * 1024 * 1024,
      preVote: config.preVote ?? true,
      checkQuorum: config.checkQuorum ?? true,
      logger: config.logger ?? silentLogger,
      unsafeTestingKnobs: config.unsafeTestingKnobs ?? {},
    },
  };
}
