/**
 * Exact heap figures of a node process started with `--inspect=127.0.0.1:PORT`: through the V8
 * inspector protocol, force a full garbage collection (`HeapProfiler.collectGarbage`), then
 * read `process.memoryUsage()` inside it. Without the forced GC, heapUsed would include
 * whatever garbage the last minutes left, which at 1M counters swamps the live data.
 */
import WebSocket from 'ws';

export interface MemoryUsage {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** Sends CDP commands over one WebSocket, matching answers by id. */
async function withSession<T>(port: number, fn: (call: (method: string, params?: object) => Promise<unknown>) => Promise<T>): Promise<T> {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(5_000) })).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = list[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target on 127.0.0.1:${port}`);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  const call = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
      setTimeout(() => {
        if (pending.delete(id)) reject(new Error(`inspector ${method}: no answer within 60 s`));
      }, 60_000).unref();
    });
  try {
    return await fn(call);
  } finally {
    ws.terminate();
  }
}

/** Full GC in the process behind `port`, then its memory usage. */
export async function measuredMemory(port: number): Promise<MemoryUsage> {
  return withSession(port, async (call) => {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage'); // a second pass frees what the first one's finalizers released
    const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result: { value: string };
    };
    return JSON.parse(r.result.value) as MemoryUsage;
  });
}
