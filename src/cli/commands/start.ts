/**
 * `raftlock start --config F --id N [--data-dir D] [--listen host:port]`: one node in the
 * foreground, JSON-lines log on stderr; SIGTERM/SIGINT stop it gracefully (a leader hands
 * leadership over first).
 */
import { createJsonLogger, loadConfigFile, parseLogLevel, startNode } from '../../server/index.js';

export interface StartArgs {
  readonly config: string;
  readonly id: string;
  readonly dataDir?: string;
  readonly listen?: string;
  readonly enableFaults?: boolean;
  readonly clockOffset?: string;
  readonly dial?: string;
  readonly unsafeRawPropose?: boolean;
  readonly insecure?: boolean;
}

/** Parses `--dial 2=127.0.0.1:9002,3=127.0.0.1:9003` (chaos runs' per-link proxies). */
export function parseDial(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const item of text.split(',').filter((x) => x.trim() !== '')) {
    const m = /^\s*(\d+)=([^\s=,]+:\d{1,5})\s*$/.exec(item);
    if (m === null) throw new Error(`--dial: ${JSON.stringify(item)} is not ID=host:port`);
    out.set(Number(m[1]), m[2] as string);
  }
  return out;
}

export async function runStart(args: StartArgs): Promise<void> {
  const id = Number(args.id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`--id must be a positive integer, got ${JSON.stringify(args.id)}`);
  const config = loadConfigFile(args.config);
  const clockOffsetMs = args.clockOffset === undefined ? 0 : Number(args.clockOffset);
  if (!Number.isSafeInteger(clockOffsetMs) || Math.abs(clockOffsetMs) > 3_600_000)
    throw new Error(`--clock-offset must be an integer number of ms within ±1 h, got ${JSON.stringify(args.clockOffset)}`);
  let status: (() => { term: number; role: string }) | undefined;
  const logger = createJsonLogger({
    level: parseLogLevel(process.env.RAFTLOCK_LOG_LEVEL),
    context: () => ({ node: id, ...(status?.() ?? {}) }),
  });
  const node = await startNode({
    config,
    id,
    ...(args.dataDir !== undefined ? { dataDir: args.dataDir } : {}),
    ...(args.listen !== undefined ? { listen: args.listen } : {}),
    ...(args.enableFaults === true ? { enableFaults: true } : {}),
    ...(clockOffsetMs !== 0 ? { clockOffsetMs } : {}),
    ...(args.dial !== undefined ? { dialAddresses: parseDial(args.dial) } : {}),
    ...(args.unsafeRawPropose === true ? { unsafeRawPropose: true } : {}),
    ...(args.insecure === true ? { insecure: true } : {}),
    logger,
  });
  status = () => {
    const st = node.host.status(false);
    return { term: st.term, role: st.role };
  };
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn('second signal: exiting without a graceful stop', { signal: sig });
      process.exit(130);
    }
    logger.info('stopping', { signal: sig });
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('stop failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
