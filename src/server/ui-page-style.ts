/**
 * The cluster page's style sheet (ui-page.ts puts it inline): one screen on a laptop, light and
 * dark by `prefers-color-scheme`, system fonts only (the page loads nothing from anywhere).
 */

/** The CSS of the cluster page. */
export const UI_STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f3f4f7;
  --panel: #ffffff;
  --panel-2: #f8f9fb;
  --border: #e2e5ea;
  --text: #171a1f;
  --muted: #69707d;
  --faint: #9aa1ad;
  --accent: #4f46e5;
  --accent-soft: #eef0ff;
  --ok: #16a34a;
  --bad: #dc2626;
  --warn: #d97706;
  --k-lock: #2563eb;
  --k-semaphore: #9333ea;
  --k-rwlock: #0d9488;
  --k-election: #d97706;
  --k-counter: #16a34a;
  --k-session: #64748b;
  --shadow: 0 1px 2px rgba(16, 24, 40, 0.05), 0 1px 3px rgba(16, 24, 40, 0.06);
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d0f13;
    --panel: #161920;
    --panel-2: #1b1f27;
    --border: #272c36;
    --text: #e7e9ee;
    --muted: #9199a6;
    --faint: #656d7a;
    --accent: #8b8cf8;
    --accent-soft: #22244a;
    --ok: #22c55e;
    --bad: #f87171;
    --warn: #fbbf24;
    --k-lock: #60a5fa;
    --k-semaphore: #c084fc;
    --k-rwlock: #2dd4bf;
    --k-election: #fbbf24;
    --k-counter: #4ade80;
    --k-session: #94a3b8;
    --shadow: none;
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--text);
  font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
  display: flex;
  flex-direction: column;
  min-height: 0;
}
.num, td.num { font-variant-numeric: tabular-nums; }
.mono { font-family: var(--mono); font-size: 12px; }
.muted { color: var(--muted); }
.faint { color: var(--faint); }

/* header */
header.top {
  display: flex;
  align-items: center;
  gap: 28px;
  padding: 10px 20px;
  background: var(--panel);
  border-bottom: 1px solid var(--border);
}
.brand { display: flex; align-items: center; gap: 9px; font-weight: 650; font-size: 15px; letter-spacing: -0.01em; }
.brand svg { width: 22px; height: 22px; color: var(--accent); }
.brand .hole { fill: var(--panel); }
.hstats { display: flex; gap: 22px; flex: 1; min-width: 0; }
.hstat { display: flex; flex-direction: column; min-width: 0; }
.hstat .k { font-size: 10.5px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); }
.hstat .v { font-weight: 600; font-size: 14px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.live { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 12px; white-space: nowrap; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: var(--faint); flex: none; }
.live.on .dot { background: var(--ok); box-shadow: 0 0 0 0 var(--ok); animation: pulse 2s infinite; }
.live.warn .dot { background: var(--warn); }
.live.off .dot { background: var(--bad); }
@keyframes pulse {
  0% { box-shadow: 0 0 0 0 color-mix(in srgb, var(--ok) 55%, transparent); }
  70% { box-shadow: 0 0 0 7px transparent; }
  100% { box-shadow: 0 0 0 0 transparent; }
}
button.link { background: none; border: 1px solid var(--border); color: var(--muted); border-radius: 6px; padding: 3px 9px; font: inherit; cursor: pointer; }
button.link:hover { color: var(--text); }

/* layout */
main { flex: 1; min-height: 0; display: flex; flex-direction: column; gap: 14px; padding: 14px 20px 10px; }
.members { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 12px; }
.grid {
  flex: 1;
  min-height: 0;
  display: grid;
  grid-template-columns: minmax(0, 1.3fr) minmax(0, 1fr) minmax(0, 0.82fr);
  grid-template-rows: minmax(0, 1fr) minmax(0, 1fr);
  gap: 12px;
}
.col { display: flex; flex-direction: column; gap: 12px; min-height: 0; }
.col-a { grid-column: 1; grid-row: 1 / 3; }
.col-b { grid-column: 2; grid-row: 1 / 3; }
.col-c { grid-column: 3; grid-row: 1 / 3; }

/* member cards */
.card {
  background: var(--panel);
  border: 1px solid var(--border);
  border-radius: 10px;
  padding: 11px 14px 12px;
  box-shadow: var(--shadow);
  position: relative;
  min-width: 0;
}
.card.self { border-color: color-mix(in srgb, var(--accent) 55%, var(--border)); }
.card .row1 { display: flex; align-items: center; gap: 8px; }
.card .name { font-weight: 650; font-size: 14px; }
.card .addr { margin-left: auto; color: var(--muted); font-family: var(--mono); font-size: 11px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card a.addr { text-decoration: none; }
.card a.addr:hover { color: var(--accent); text-decoration: underline; }
.card .figs { display: grid; grid-template-columns: repeat(4, auto); justify-content: space-between; gap: 4px 10px; margin-top: 9px; }
.fig .k { font-size: 10.5px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.05em; }
.fig .v { font-size: 15px; font-weight: 600; font-variant-numeric: tabular-nums; }
.fig .v.na { color: var(--faint); font-weight: 500; }
.bar { height: 4px; border-radius: 2px; background: var(--panel-2); margin-top: 9px; overflow: hidden; border: 1px solid var(--border); }
.bar > span { display: block; height: 100%; width: 0; background: var(--ok); transition: width 0.4s ease; }
.bar.lagging > span { background: var(--warn); }
.bar.unknown > span { background: var(--faint); }
.health { display: inline-flex; align-items: center; gap: 5px; font-size: 11.5px; color: var(--muted); }
.health.healthy .dot { background: var(--ok); }
.health.unreachable { color: var(--bad); }
.health.unreachable .dot { background: var(--bad); }
.card .foot { display: flex; justify-content: space-between; align-items: center; margin-top: 7px; }
.card .here { font-size: 10.5px; color: var(--accent); font-weight: 600; text-transform: uppercase; letter-spacing: 0.05em; text-decoration: none; }
.card a.here:hover { text-decoration: underline; }

/* role badges */
.role { font-size: 10.5px; font-weight: 650; letter-spacing: 0.05em; text-transform: uppercase; border-radius: 999px; padding: 1px 8px; border: 1px solid var(--border); color: var(--muted); }
.role.leader { background: var(--accent); border-color: var(--accent); color: #fff; }
.role.candidate, .role.pre-candidate { border-color: var(--warn); color: var(--warn); }
.role.learner { border-style: dashed; }

/* panels */
.panel {
  background: var(--panel);
  border: 1px solid var(--border);
  border-radius: 10px;
  box-shadow: var(--shadow);
  display: flex;
  flex-direction: column;
  min-height: 0;
  flex: 1 1 0;
  overflow: hidden;
}
.panel.small { flex: 0 1 auto; max-height: 34%; }
.panel h2 {
  margin: 0;
  padding: 9px 14px;
  font-size: 12.5px;
  font-weight: 650;
  display: flex;
  align-items: center;
  gap: 8px;
  border-bottom: 1px solid var(--border);
}
.panel h2 .count { font-weight: 600; font-size: 11px; color: var(--muted); background: var(--panel-2); border: 1px solid var(--border); border-radius: 999px; padding: 0 7px; font-variant-numeric: tabular-nums; }
.panel h2 .aside { margin-left: auto; font-weight: 500; font-size: 11.5px; color: var(--muted); }
.panel h2 .swatch { width: 8px; height: 8px; border-radius: 2px; background: var(--k-session); }
.swatch.k-lock { background: var(--k-lock); }
.swatch.k-semaphore { background: linear-gradient(135deg, var(--k-semaphore) 50%, var(--k-rwlock) 50%); }
.swatch.k-election { background: var(--k-election); }
.swatch.k-counter { background: var(--k-counter); }
.scroll { overflow: auto; min-height: 0; flex: 1; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
col.w-holder { width: 88px; }
col.w-token { width: 62px; }
col.w-time { width: 74px; }
col.w-count { width: 86px; }
col.w-wide-count { width: 110px; }
col.w-kind { width: 98px; }
col.w-held { width: 132px; }
col.w-holders { width: 140px; }
col.w-value { width: 150px; }
col.w-number { width: 120px; }
col.w-client { width: 118px; }
th {
  position: sticky;
  top: 0;
  background: var(--panel);
  text-align: left;
  font-weight: 600;
  font-size: 10.5px;
  text-transform: uppercase;
  letter-spacing: 0.05em;
  color: var(--muted);
  padding: 6px 8px;
  border-bottom: 1px solid var(--border);
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
  z-index: 1;
}
td { padding: 5px 8px; border-bottom: 1px solid var(--border); vertical-align: middle; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
tr:last-child td { border-bottom: none; }
th:first-child, td:first-child { padding-left: 14px; }
th:last-child, td:last-child { padding-right: 14px; }
th.r, td.r { text-align: right; }
td.name { font-family: var(--mono); font-size: 12px; }
td.wrap { white-space: normal; }
.empty { padding: 18px 14px; color: var(--faint); text-align: center; font-size: 12px; }
.more { padding: 6px 14px; color: var(--muted); font-size: 11.5px; border-top: 1px solid var(--border); }
.sid { font-family: var(--mono); font-size: 12px; }
.tok { font-family: var(--mono); font-size: 12px; color: var(--accent); }
.chip { display: inline-block; font-size: 10.5px; font-weight: 600; border-radius: 4px; padding: 0 6px; margin-right: 4px; background: var(--panel-2); border: 1px solid var(--border); color: var(--muted); }
.mark { display: inline-block; width: 7px; height: 7px; border-radius: 2px; margin-right: 7px; vertical-align: 1px; }
.mark.k-semaphore { background: var(--k-semaphore); }
.mark.k-rwlock { background: var(--k-rwlock); }
.chip.read { color: var(--k-rwlock); border-color: color-mix(in srgb, var(--k-rwlock) 35%, var(--border)); }
.chip.write { color: var(--bad); }
.waiters { color: var(--warn); font-weight: 600; }
.zero { color: var(--faint); }
.meter { display: inline-block; width: 54px; height: 6px; border-radius: 3px; background: var(--panel-2); border: 1px solid var(--border); vertical-align: middle; margin-right: 7px; overflow: hidden; }
.meter > span { display: block; height: 100%; background: var(--k-semaphore); }
.soon { color: var(--warn); }
tr.fresh td { animation: fresh 1.6s ease-out; }
@keyframes fresh { from { background: var(--accent-soft); } to { background: transparent; } }

/* event feed */
.feed .scroll { padding: 4px 0; }
.ev { display: grid; grid-template-columns: 58px 3px minmax(0, 1fr); gap: 0 10px; padding: 5px 14px; align-items: start; border-bottom: 1px solid color-mix(in srgb, var(--border) 60%, transparent); }
.ev.new { animation: fresh 1.6s ease-out; }
.ev .t { color: var(--faint); font-variant-numeric: tabular-nums; font-size: 11.5px; padding-top: 1px; }
.ev .stripe { align-self: stretch; border-radius: 2px; background: var(--k-session); }
.ev .body { min-width: 0; }
.ev .what { display: flex; gap: 7px; align-items: baseline; min-width: 0; }
.ev .type { font-weight: 650; font-size: 12px; white-space: nowrap; }
.ev .nm { font-family: var(--mono); font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ev .detail { color: var(--muted); font-size: 11.5px; }
.ev .idx { margin-left: auto; color: var(--faint); font-size: 11px; font-variant-numeric: tabular-nums; }
.k-lock .stripe { background: var(--k-lock); } .k-lock .type { color: var(--k-lock); }
.k-semaphore .stripe { background: var(--k-semaphore); } .k-semaphore .type { color: var(--k-semaphore); }
.k-rwlock .stripe { background: var(--k-rwlock); } .k-rwlock .type { color: var(--k-rwlock); }
.k-election .stripe { background: var(--k-election); } .k-election .type { color: var(--k-election); }
.k-counter .stripe { background: var(--k-counter); } .k-counter .type { color: var(--k-counter); }
.k-session .stripe { background: var(--k-session); } .k-session .type { color: var(--k-session); }
.legend { display: flex; flex-wrap: wrap; gap: 3px 8px; padding: 6px 14px; font-size: 10px; color: var(--muted); border-bottom: 1px solid var(--border); }
.legend span { display: inline-flex; align-items: center; gap: 4px; }
.legend i { width: 7px; height: 7px; border-radius: 2px; display: inline-block; }
.legend .k-lock i { background: var(--k-lock); }
.legend .k-semaphore i { background: var(--k-semaphore); }
.legend .k-rwlock i { background: var(--k-rwlock); }
.legend .k-election i { background: var(--k-election); }
.legend .k-counter i { background: var(--k-counter); }
.legend .k-session i { background: var(--k-session); }

footer { padding: 0 20px 10px; color: var(--muted); font-size: 11.5px; display: flex; gap: 16px; }
footer .problem { color: var(--bad); }

/* token dialog */
dialog { border: 1px solid var(--border); border-radius: 12px; padding: 22px 24px; background: var(--panel); color: var(--text); width: 420px; box-shadow: 0 20px 50px rgba(0, 0, 0, 0.25); }
dialog::backdrop { background: rgba(10, 12, 16, 0.45); }
dialog h3 { margin: 0 0 6px; font-size: 16px; }
dialog p { margin: 0 0 14px; color: var(--muted); }
dialog input[type="password"] { width: 100%; padding: 8px 10px; border: 1px solid var(--border); border-radius: 7px; background: var(--panel-2); color: var(--text); font-family: var(--mono); font-size: 12.5px; }
dialog input:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
dialog .actions { display: flex; justify-content: flex-end; margin-top: 14px; gap: 8px; }
dialog button[type="submit"] { background: var(--accent); color: #fff; border: none; border-radius: 7px; padding: 7px 16px; font: inherit; font-weight: 600; cursor: pointer; }
dialog .error { color: var(--bad); min-height: 1.2em; margin: 8px 0 0; font-size: 12px; }
`;
