/** How long `p` takes to settle, and its error (undefined if it resolved): for tests that bound a call's duration. */
export async function timed(p: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms: performance.now() - started, error };
}
