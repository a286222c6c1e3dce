/**
 * The cluster page `GET /ui` serves (docs/operations.md#the-cluster-page): one HTML document
 * with its style (ui-page-style.ts) and script (ui-page-script.ts) inline, so it needs no
 * network beyond the node that serves it, no CDN and no build step, and ships in the package as
 * compiled code. Its Content-Security-Policy allows exactly that inline style and script (by
 * hash) and requests to the node itself, nothing else: a name shown on the page can never run
 * as code, and the page can never send what it reads anywhere.
 */
import { createHash } from 'node:crypto';
import { UI_SCRIPT } from './ui-page-script.js';
import { UI_STYLE } from './ui-page-style.js';

/** The page's icon: a small lock, as a data URL (a `/favicon.ico` request would be a 404). */
const ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Crect x='4' y='10' width='16' height='11' rx='2.5' fill='%234f46e5'/%3E%3Cpath d='M8 10V7a4 4 0 0 1 8 0v3' fill='none' stroke='%234f46e5' stroke-width='2.2'/%3E%3C/svg%3E";

const LOGO = `<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="4" y="10" width="16" height="11" rx="2.5" fill="currentColor" opacity="0.9"/><path d="M8 10V7a4 4 0 0 1 8 0v3" fill="none" stroke="currentColor" stroke-width="2.2"/><circle class="hole" cx="12" cy="15.5" r="1.7"/></svg>`;

const BODY = `
<header class="top">
  <div class="brand">${LOGO}<span>raftlock</span></div>
  <div class="hstats">
    <div class="hstat"><span class="k">cluster</span><span class="v" id="h-cluster">…</span></div>
    <div class="hstat"><span class="k">this node</span><span class="v" id="h-node">…</span></div>
    <div class="hstat"><span class="k">leader</span><span class="v" id="h-leader">…</span></div>
    <div class="hstat"><span class="k">term</span><span class="v num" id="h-term">…</span></div>
    <div class="hstat"><span class="k">commit / applied</span><span class="v num" id="h-applied">…</span></div>
    <div class="hstat"><span class="k">sessions · locks held · waiting</span><span class="v num" id="h-load">…</span></div>
  </div>
  <div class="live" id="live"><span class="dot"></span><span id="live-text">connecting…</span></div>
  <button class="link" id="forget" type="button" hidden>Forget token</button>
</header>
<main>
  <section class="members" id="members" aria-label="Members"></section>
  <section class="grid">
    <div class="col col-a">
      <article class="panel" id="p-locks">
        <h2><span class="swatch k-lock"></span>Locks <span class="count" id="c-locks">0</span><span class="aside" id="a-locks"></span></h2>
        <div class="scroll"><table><colgroup><col><col class="w-holder"><col class="w-token"><col class="w-time"><col class="w-time"><col class="w-count"></colgroup><thead><tr><th>Lock</th><th>Holder</th><th class="r">Token</th><th class="r">Held</th><th class="r">Expires</th><th class="r">Waiters</th></tr></thead><tbody id="t-locks"></tbody></table><div class="empty" id="e-locks">No lock is held or awaited.</div></div>
      </article>
      <article class="panel small" id="p-elections">
        <h2><span class="swatch k-election"></span>Elections <span class="count" id="c-elections">0</span></h2>
        <div class="scroll"><table><colgroup><col><col class="w-holder"><col class="w-value"><col class="w-token"><col class="w-wide-count"></colgroup><thead><tr><th>Election</th><th>Leader</th><th>Value</th><th class="r">Token</th><th class="r">Candidates</th></tr></thead><tbody id="t-elections"></tbody></table><div class="empty" id="e-elections">No election has a leader or candidates.</div></div>
      </article>
      <article class="panel" id="p-permits">
        <h2><span class="swatch k-semaphore"></span>Semaphores and readers-writer locks <span class="count" id="c-permits">0</span></h2>
        <div class="scroll"><table><colgroup><col><col class="w-held"><col class="w-holders"><col class="w-count"></colgroup><thead><tr><th>Name</th><th>Held</th><th>Holders (token)</th><th class="r">Waiters</th></tr></thead><tbody id="t-permits"></tbody></table><div class="empty" id="e-permits">No semaphore or readers-writer lock is in use.</div></div>
      </article>
    </div>
    <div class="col col-b">
      <article class="panel" id="p-counters">
        <h2><span class="swatch k-counter"></span>Counters <span class="count" id="c-counters">0</span></h2>
        <div class="scroll"><table><colgroup><col><col class="w-number"></colgroup><thead><tr><th>Counter</th><th class="r">Value</th></tr></thead><tbody id="t-counters"></tbody></table><div class="empty" id="e-counters">Every counter reads 0.</div></div>
      </article>
      <article class="panel" id="p-sessions">
        <h2><span class="swatch k-session"></span>Sessions <span class="count" id="c-sessions">0</span></h2>
        <div class="scroll"><table><colgroup><col class="w-holder"><col class="w-client"><col class="w-time"><col></colgroup><thead><tr><th>Session</th><th>Client</th><th class="r">Expires</th><th>Locks</th></tr></thead><tbody id="t-sessions"></tbody></table><div class="empty" id="e-sessions">No session is open.</div></div>
      </article>
    </div>
    <div class="col col-c">
      <article class="panel feed" id="p-events">
        <h2>Live events <span class="count" id="c-events">0</span><span class="aside">newest first</span></h2>
        <div class="legend"><span class="k-lock"><i></i>lock</span><span class="k-semaphore"><i></i>semaphore</span><span class="k-rwlock"><i></i>rwlock</span><span class="k-election"><i></i>election</span><span class="k-counter"><i></i>counter</span><span class="k-session"><i></i>session</span></div>
        <div class="scroll" id="events"><div class="empty" id="e-events">Waiting for events…</div></div>
      </article>
    </div>
  </section>
</main>
<footer><span id="view-note"></span><span class="problem" id="problem"></span></footer>
<dialog id="auth">
  <form id="auth-form">
    <h3>Client token</h3>
    <p>This cluster asks for a client token of role <b>read</b> or above. The page keeps it in this tab only (sessionStorage).</p>
    <input type="text" name="username" autocomplete="username" value="raftlock" hidden>
    <input id="auth-token" type="password" name="token" autocomplete="current-password" placeholder="rlt_…" required>
    <p class="error" id="auth-error"></p>
    <div class="actions"><button type="submit">Open the page</button></div>
  </form>
</dialog>`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The policy the page is served with: its own inline style and script (by hash), requests to
 * its own node, images only as data URLs (the icon), no forms posted anywhere, no framing.
 */
export const UI_CSP = [
  "default-src 'none'",
  `script-src ${sha256(UI_SCRIPT)}`,
  `style-src ${sha256(UI_STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The page. `tokenRequired` tells the script to ask for a token before its first request
 * rather than after a 401 (which the browser would log as an error); it reveals nothing that
 * `/ui/state` answering 401 would not.
 */
export function uiPage(tokenRequired: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>raftlock cluster</title>
<link rel="icon" href="${ICON}">
<style>${UI_STYLE}</style>
</head>
<body data-auth="${tokenRequired ? 'token' : 'open'}">${BODY}
<script>${UI_SCRIPT}</script>
</body>
</html>
`;
}
