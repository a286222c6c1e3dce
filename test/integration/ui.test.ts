/**
 * The cluster page (docs/operations.md#the-cluster-page) in a real headless browser, against a
 * live 3-node process cluster that requires client tokens: the page asks for a token, loads
 * with no console error or warning, shows the three members with their roles and a lock taken
 * through the SDK with its holder and token, and drops the lock when it is released, live,
 * without a reload. A 1440×900 screenshot is saved under test-output/ui/ (its path printed).
 * `/ui/state` answers 401 without a token and 200 with a `read` one, as `/status` does.
 *
 * The browser is Debian's `chromium` (/usr/bin/chromium; .ci/run installs it when missing),
 * driven by playwright-core, which never downloads a browser of its own. Without it the test
 * fails, naming the package: a page nobody opened is what this test exists to stop.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type RaftlockClient } from '../../src/client/index.js';
import type { UiState } from '../../src/server/ui-state.js';
import { REPO } from '../../scripts/lib/build.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_TOKEN = 'rlt_ui-test-admin-0123456789';
const READ_TOKEN = 'rlt_ui-test-viewer-0123456789';
const WRITE_TOKEN = 'rlt_ui-test-app-0123456789';
/** Where the screenshot goes: a folder of test artifacts, ignored by git. */
const OUTPUT = join(REPO, 'test-output', 'ui');

let cluster: ProcessCluster | undefined;
let browser: BrowserContext | undefined;
let client: RaftlockClient | undefined;
const profile = mkdtempSync(join(tmpdir(), 'raftlock-ui-chromium-'));

afterAll(async () => {
  await browser?.close().catch(() => {});
  await client?.close({ timeoutMs: 2_000 }).catch(() => {});
  await cluster?.destroy();
  rmSync(profile, { recursive: true, force: true });
});

/** Chromium, headless, with a fresh profile and nothing that reaches beyond this machine. */
async function launchBrowser(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's \`chromium\` package (apt-get install -y chromium; .ci/run does this when it is missing)`,
    );
  }
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
  });
}

async function getState(c: ProcessCluster, id: number, token: string | undefined): Promise<Response> {
  return fetch(`http://${c.address(id)}/ui/state`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5_000),
  });
}

/** The role shown on each member card, by node id. */
async function rolesShown(page: Page): Promise<Record<string, string>> {
  const cards = page.locator('#members .card');
  const out: Record<string, string> = {};
  for (const card of await cards.all()) {
    out[(await card.getAttribute('data-member')) ?? '?'] = (await card.locator('.role').textContent()) ?? '';
  }
  return out;
}

describe('the cluster page', () => {
  it('loads in a real browser, shows the members and a lock, and follows its release live', { timeout: 240_000 }, async () => {
    const context = await launchBrowser();
    browser = context;
    const c = await ProcessCluster.create({
      nodes: 3,
      clientToken: ADMIN_TOKEN,
      extraTokens: [
        { name: 'viewer', role: 'read', token: READ_TOKEN },
        { name: 'app', role: 'write', token: WRITE_TOKEN },
      ],
    });
    cluster = c;
    c.startAll();
    const leader = (await c.waitForLeader(c.ids, 30_000)).id;
    const follower = c.ids.find((id) => id !== leader) as number;

    // The data routes need the read role, exactly as /status does; the page itself holds no data.
    expect((await getState(c, follower, undefined)).status).toBe(401);
    expect((await getState(c, follower, 'rlt_not-a-token')).status).toBe(401);
    const ok = await getState(c, follower, READ_TOKEN);
    expect(ok.status).toBe(200);
    const state = (await ok.json()) as UiState;
    expect(state.node.id).toBe(follower);
    expect(state.members.map((m) => m.id)).toEqual(c.ids);
    const events = await fetch(`http://${c.address(follower)}/ui/events`, { signal: AbortSignal.timeout(5_000) });
    expect(events.status).toBe(401);
    const pageRes = await fetch(`http://${c.address(follower)}/ui`, { signal: AbortSignal.timeout(5_000) });
    expect(pageRes.status).toBe(200);
    expect(pageRes.headers.get('content-security-policy')).toContain("default-src 'none'");

    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    await page.goto(`http://${c.address(follower)}/ui`);

    // The cluster asks for tokens: the page asks for one before its first request.
    await page.locator('#auth-token').fill(READ_TOKEN);
    await page.locator('#auth-form button[type=submit]').click();
    await page.locator('#live.on').waitFor({ timeout: 30_000 });
    await page.locator('#members .card').nth(2).waitFor({ timeout: 30_000 });
    const roles = await rolesShown(page);
    expect(Object.keys(roles).map(Number).sort()).toEqual(c.ids);
    expect(roles[String(leader)]).toBe('leader');
    expect(roles[String(follower)]).toBe('follower');
    expect(Object.values(roles).filter((r) => r === 'follower')).toHaveLength(2);
    await expect.poll(() => page.locator('#members .card.self').getAttribute('data-member')).toBe(String(follower));
    // Marks this document: a reload would lose it.
    await page.evaluate("document.body.setAttribute('data-test-mark', 'same-document')");

    client = await connect({ endpoints: c.endpoints, token: WRITE_TOKEN, sessionTtlMs: 10_000, timeoutMs: 30_000 });
    const name = 'ui-test/orders-4711';
    const lock = await client.lock(name, { waitMs: 5_000 });
    const holder = (await client.lockInfo(name)).holder?.sessionId;
    expect(holder).toBeDefined();
    const row = page.locator(`#t-locks tr[data-name="${name}"]`);
    await row.waitFor({ timeout: 30_000 });
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe(name);
    expect(cells[1]).toBe(`session ${holder}`);
    expect(cells[2]).toBe(String(lock.fencingToken));
    // The feed saw the grant.
    await page.locator('#events .ev.k-lock', { hasText: name }).first().waitFor({ timeout: 30_000 });
    await client.counter('ui-test/processed').add(3);
    await page.locator('#t-counters tr', { hasText: 'ui-test/processed' }).waitFor({ timeout: 30_000 });

    mkdirSync(OUTPUT, { recursive: true });
    const shot = join(OUTPUT, `cluster-page-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
    await page.screenshot({ path: shot });
    console.log(`cluster page screenshot: ${shot}`);

    await lock.release();
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    await page.locator('#events .ev.k-lock', { hasText: 'released' }).first().waitFor({ timeout: 30_000 });
    expect(await page.locator('body').getAttribute('data-test-mark')).toBe('same-document');
    expect(await page.locator('#e-locks').isVisible()).toBe(true);

    // Checked before closing: closing aborts the page's requests in flight.
    expect(problems).toEqual([]);
    await page.close();
  });

  it('ends an open event feed when its node stops, without holding the stop', { timeout: 120_000 }, async () => {
    const c = cluster as ProcessCluster;
    const id = c.ids[0] as number;
    const url = `http://${c.address(id)}/ui/events`;
    const bad = await fetch(`${url}?kinds=gadget`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    const res = await fetch(url, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    expect(res.status).toBe(200);
    const lines = feedLines(res);
    expect(await lines.next()).toMatchObject({ value: { started: {} } });
    await c.stop(id, 60_000);
    let last: unknown;
    for await (const line of lines) last = line;
    expect(last).toMatchObject({ end: { code: 'UNAVAILABLE' } });
    // Stopped by itself, not killed at the end of the grace period.
    expect(c.logTail(id, 50)).toContain('"node stopped"');
  });
});

/** The JSON lines of a feed's response, as they arrive. */
async function* feedLines(res: Response): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      yield JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
      buffer = buffer.slice(nl + 1);
    }
  }
}
