/**
 * The cluster page's script (ui-page.ts puts it inline): plain browser JavaScript, no framework.
 * It reads `ui/state` (relative URLs, so the page works unchanged over https and behind a path
 * prefix), follows `ui/events` as a streamed fetch that can carry the token, and re-reads the
 * state when events arrive (debounced) and every few seconds. Everything it shows from the
 * cluster goes in as text (`textContent`), never as markup. It logs nothing to the console.
 */

/** The script of the cluster page. */
export const UI_SCRIPT = String.raw`
(function () {
  'use strict';
  var TOKEN_KEY = 'raftlock.ui.token';
  var STATE_EVERY_MS = 3000;
  var DEBOUNCE_MS = 150;
  var MAX_EVENTS = 200;
  /** Indices of history the feed starts with, so a fresh page shows what just happened. */
  var HISTORY = 300;
  var needsToken = document.body.dataset.auth === 'token';
  var nf = new Intl.NumberFormat('en-US');

  var state = null;
  var clockOffset = 0;
  var loading = false;
  var loadAgain = false;
  var debounce = 0;
  var poller = 0;
  var feed = { controller: null, lastIndex: 0, retries: 0, retryTimer: 0, resyncFrom: 0, count: 0 };
  /** What the tables showed last time, to mark the rows that changed; empty before the first. */
  var seen = { first: true, locks: new Map(), counters: new Map(), elections: new Map() };

  function byId(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function td(cls, content) {
    var c = el('td', cls);
    if (content instanceof Node) c.appendChild(content); else if (content !== undefined && content !== null) c.textContent = String(content);
    return c;
  }
  function num(n) { return n === null || n === undefined ? '—' : nf.format(n); }
  function token() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
  function headers() { var t = token(); return t ? { Authorization: 'Bearer ' + t } : {}; }
  function serverNow() { return Date.now() + clockOffset; }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function clock(d) { return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); }
  function duration(ms) {
    var s = Math.max(0, ms) / 1000;
    if (s < 10) return s.toFixed(1) + ' s';
    if (s < 60) return Math.floor(s) + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + pad(Math.floor(s % 60)) + 's';
    var h = Math.floor(m / 60);
    if (h < 48) return h + 'h ' + pad(m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }
  /** A cell whose text counts from or to a log time, kept current by the ticker. */
  function timeCell(at, mode) {
    var c = el('td', 'r num');
    c.dataset.at = String(at);
    c.dataset.mode = mode;
    paintTime(c);
    return c;
  }
  function paintTime(c) {
    var at = Number(c.dataset.at);
    var left = at - serverNow();
    if (c.dataset.mode === 'since') { c.textContent = duration(-left); return; }
    c.textContent = left <= 0 ? 'due' : duration(left);
    c.classList.toggle('soon', left < 3000);
  }
  function tick() {
    var cells = document.querySelectorAll('td[data-at]');
    for (var i = 0; i < cells.length; i++) paintTime(cells[i]);
  }
  function session(id) { return el('span', 'sid', 'session ' + id); }

  // ---- live status, problems, token ------------------------------------------------------

  function setLive(mode, text) {
    var live = byId('live');
    live.className = 'live ' + mode;
    byId('live-text').textContent = text;
  }
  function setProblem(text) { byId('problem').textContent = text; }

  function askToken(message) {
    stop();
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off: the token lives nowhere */ }
    byId('auth-error').textContent = message || '';
    setLive('warn', 'token needed');
    var d = byId('auth');
    if (!d.open) d.showModal();
    byId('auth-token').focus();
  }
  byId('auth').addEventListener('cancel', function (e) { e.preventDefault(); });
  byId('auth-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var t = byId('auth-token').value.trim();
    if (!t) return;
    try { sessionStorage.setItem(TOKEN_KEY, t); } catch (err) { byId('auth-error').textContent = 'This browser keeps no session storage.'; return; }
    byId('auth-token').value = '';
    byId('auth').close();
    start();
  });
  byId('forget').addEventListener('click', function () {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing kept */ }
    location.reload();
  });

  // ---- state ----------------------------------------------------------------------------

  function loadState() {
    if (loading) { loadAgain = true; return Promise.resolve(); }
    loading = true;
    return fetch('ui/state', { headers: headers(), cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { askToken('The node refused that token: enter one of role read or above.'); return null; }
        if (res.status === 403) { askToken('That token may not read this cluster.'); return null; }
        if (!res.ok) throw new Error('the node answered HTTP ' + res.status);
        return res.json();
      })
      .then(function (s) {
        if (s === null) return;
        render(s);
        setProblem('');
      })
      .catch(function (err) {
        setProblem('Cannot read the node: ' + (err && err.message ? err.message : String(err)));
        setLive('off', 'node unreachable');
      })
      .then(function () {
        loading = false;
        if (loadAgain) { loadAgain = false; return loadState(); }
      });
  }
  function soon() {
    if (debounce) return;
    debounce = setTimeout(function () { debounce = 0; loadState(); }, DEBOUNCE_MS);
  }

  function render(s) {
    state = s;
    clockOffset = s.serverTime - Date.now();
    var n = s.node;
    var t = s.tables;
    byId('h-cluster').textContent = s.clusterId;
    byId('h-node').textContent = 'node ' + n.id + ' · ' + n.role;
    byId('h-leader').textContent = n.leader ? 'node ' + n.leader : 'none known';
    byId('h-term').textContent = num(n.term);
    byId('h-applied').textContent = num(n.commit) + ' / ' + num(n.applied);
    byId('h-load').textContent = num(t.sessionCount) + ' · ' + num(t.locksHeld) + ' · ' + num(t.waiting);
    byId('forget').hidden = !needsToken;
    document.title = s.clusterId + ' · node ' + n.id + ' · raftlock';
    renderMembers(s);
    renderLocks(t);
    renderPermits(t);
    renderElections(t);
    renderCounters(t);
    renderSessions(t);
    seen.first = false;
    var view = n.role === 'leader'
      ? 'the others from its replication progress'
      : 'the others as it knows them (open the leader’s page for their replication progress)';
    byId('view-note').textContent = 'Answered by node ' + n.id + ' (' + n.role + ') at applied index ' + num(t.applied) +
      ': its own figures from its status, ' + view + '; tables from its applied state.';
    if (feed.controller) setLive('on', 'live');
  }

  function fig(label, value) {
    var f = el('div', 'fig');
    f.appendChild(el('div', 'k', label));
    f.appendChild(el('div', value === null || value === undefined ? 'v na' : 'v', num(value)));
    return f;
  }
  function renderMembers(s) {
    var box = byId('members');
    var cards = s.members.map(function (m) {
      var c = el('div', 'card' + (m.self ? ' self' : ''));
      c.dataset.member = String(m.id);
      var row = el('div', 'row1');
      row.appendChild(el('span', 'name', 'node ' + m.id));
      row.appendChild(el('span', 'role ' + m.role, m.role));
      var link = m.address && !m.self && /^[A-Za-z0-9.:\[\]-]+$/.test(m.address) ? location.protocol + '//' + m.address + '/ui' : '';
      if (link) {
        var a = el('a', 'addr', m.address);
        a.href = link;
        a.title = 'Open node ' + m.id + '’s page';
        row.appendChild(a);
      } else {
        row.appendChild(el('span', 'addr', m.address || 'address unknown'));
      }
      c.appendChild(row);
      var figs = el('div', 'figs');
      figs.appendChild(fig('term', m.term));
      if (m.source === 'progress') figs.appendChild(fig('match', m.match));
      else figs.appendChild(fig('commit', m.commit));
      figs.appendChild(fig('applied', m.applied));
      figs.appendChild(fig('lag', m.lag));
      c.appendChild(figs);
      var bar = el('div', 'bar' + (m.lag === null ? ' unknown' : m.lag > 0 ? ' lagging' : ''));
      var fill = el('span');
      var last = s.node.lastIndex || 1;
      var share = m.lag === null ? 1 : Math.max(0.02, Math.min(1, (last - m.lag) / last));
      fill.style.width = (share * 100).toFixed(1) + '%';
      bar.appendChild(fill);
      c.appendChild(bar);
      var foot = el('div', 'foot');
      var h = el('span', 'health ' + m.health);
      h.appendChild(el('span', 'dot'));
      h.appendChild(el('span', null, m.health === 'unknown' ? 'health not known here' : m.health));
      foot.appendChild(h);
      if (m.self) foot.appendChild(el('span', 'here', 'this node'));
      else if (m.role === 'leader' && m.source === 'membership' && link) {
        var open = el('a', 'here', 'open its page →');
        open.href = link;
        open.title = 'The leader shows every member’s replication progress';
        foot.appendChild(open);
      }
      c.appendChild(foot);
      return c;
    });
    box.replaceChildren.apply(box, cards);
  }

  /** Fills table body 'id' with rows; shows its empty note when there are none. */
  function fill(id, rows, more) {
    var body = byId('t-' + id);
    body.replaceChildren.apply(body, rows);
    byId('e-' + id).hidden = rows.length > 0;
    body.parentNode.hidden = rows.length === 0;
    var scroll = body.parentNode.parentNode;
    var note = scroll.querySelector('.more');
    if (more && !note) scroll.appendChild(el('div', 'more', 'Only the first rows are shown.'));
    if (!more && note) note.remove();
  }
  function count(id, n, more) { byId('c-' + id).textContent = nf.format(n) + (more ? '+' : ''); }
  /** Marks a row fresh when its key's value differs from the last rendering. */
  function fresh(tr, map, key, value, next) {
    if (!seen.first && map.get(key) !== value) tr.className = 'fresh';
    next.set(key, value);
  }

  function renderLocks(t) {
    var next = new Map();
    var rows = t.locks.items.map(function (l) {
      var tr = el('tr');
      tr.dataset.name = l.name;
      tr.appendChild(td('name', l.name)).title = l.name;
      if (l.holder) {
        tr.appendChild(td(null, session(l.holder.sessionId))).title = 'granted at ' + clock(new Date(l.holder.acquiredAt - clockOffset));
        tr.appendChild(td('r tok', l.holder.fencingToken));
        tr.appendChild(timeCell(l.holder.acquiredAt, 'since'));
        tr.appendChild(timeCell(l.holder.expiresAt, 'until'));
      } else {
        tr.appendChild(td('muted', 'free, kept for a waiter'));
        tr.appendChild(td('r faint', '—'));
        tr.appendChild(td('r faint', '—'));
        tr.appendChild(td('r faint', '—'));
      }
      tr.appendChild(td('r num ' + (l.waiters > 0 ? 'waiters' : 'zero'), l.waiters));
      fresh(tr, seen.locks, l.name, l.holder ? l.holder.fencingToken : 0, next);
      return tr;
    });
    seen.locks = next;
    fill('locks', rows, t.locks.more);
    count('locks', t.locks.items.length, t.locks.more);
    byId('a-locks').textContent = nf.format(t.locksHeld) + ' held';
  }

  function holderText(holders, total, part) {
    var shown = holders.map(function (h) { return h.sessionId + part(h) + ' (' + h.fencingToken + ')'; }).join(', ');
    return total > holders.length ? shown + ' +' + (total - holders.length) : shown || '—';
  }
  /** A name cell with its kind's colour mark. */
  function kindName(name, kind, label) {
    var c = el('td', 'name');
    c.title = label + ' ' + name;
    c.appendChild(el('span', 'mark k-' + kind));
    c.appendChild(document.createTextNode(name));
    return c;
  }
  function renderPermits(t) {
    var rows = [];
    t.semaphores.items.forEach(function (s) {
      var tr = el('tr');
      tr.appendChild(kindName(s.name, 'semaphore', 'semaphore'));
      var held = el('td', 'num');
      var permits = s.permits || 0;
      var used = permits - (s.available || 0);
      var meter = el('span', 'meter');
      var bar = el('span');
      bar.style.width = (permits ? (100 * used) / permits : 0).toFixed(1) + '%';
      meter.appendChild(bar);
      held.appendChild(meter);
      held.appendChild(document.createTextNode(nf.format(used) + ' / ' + nf.format(permits)));
      tr.appendChild(held);
      tr.appendChild(td('name', holderText(s.holders, s.holderCount, function (h) { return h.weight > 1 ? '×' + h.weight : ''; })));
      tr.appendChild(td('r num ' + (s.waiters > 0 ? 'waiters' : 'zero'), s.waiters));
      rows.push(tr);
    });
    t.rwlocks.items.forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(kindName(r.name, 'rwlock', 'readers-writer lock'));
      var mode = r.mode === 'read' ? 'read ×' + r.holderCount : r.mode;
      tr.appendChild(td(null, el('span', 'chip ' + r.mode, mode)));
      tr.appendChild(td('name', holderText(r.holders, r.holderCount, function () { return ''; })));
      tr.appendChild(td('r num ' + (r.waiters > 0 ? 'waiters' : 'zero'), r.waiters));
      rows.push(tr);
    });
    var more = t.semaphores.more || t.rwlocks.more;
    fill('permits', rows, more);
    count('permits', rows.length, more);
  }

  function renderElections(t) {
    var next = new Map();
    var rows = t.elections.items.map(function (e) {
      var tr = el('tr');
      tr.appendChild(td('name', e.name)).title = e.name;
      if (e.leader) {
        tr.appendChild(td(null, session(e.leader.sessionId)));
        tr.appendChild(td('name', e.leader.value)).title = e.leader.value;
        tr.appendChild(td('r tok', e.leader.fencingToken));
      } else {
        tr.appendChild(td('muted', 'no leader'));
        tr.appendChild(td('faint', '—'));
        tr.appendChild(td('r faint', '—'));
      }
      tr.appendChild(td('r num ' + (e.candidates > 0 ? 'waiters' : 'zero'), e.candidates));
      fresh(tr, seen.elections, e.name, e.leader ? e.leader.fencingToken + ':' + e.leader.value : '', next);
      return tr;
    });
    seen.elections = next;
    fill('elections', rows, t.elections.more);
    count('elections', rows.length, t.elections.more);
  }

  function renderCounters(t) {
    var next = new Map();
    var rows = t.counters.items.map(function (c) {
      var tr = el('tr');
      tr.appendChild(td('name', c.name)).title = c.name;
      tr.appendChild(td('r num', nf.format(c.value)));
      fresh(tr, seen.counters, c.name, c.value, next);
      return tr;
    });
    seen.counters = next;
    fill('counters', rows, t.counters.more);
    count('counters', rows.length, t.counters.more);
  }

  function renderSessions(t) {
    var rows = t.sessions.items.map(function (s) {
      var tr = el('tr');
      tr.appendChild(td(null, session(s.sessionId)));
      tr.appendChild(td(s.clientId ? 'name' : 'faint', s.clientId || '—')).title = s.clientId || '';
      tr.appendChild(timeCell(s.expiresAt, 'until')).title = 'lease of ' + duration(s.ttlMs) + ', renewed by keep-alives';
      var parts = [];
      if (s.lockCount > 0) parts.push(s.locks.join(', ') + (s.lockCount > s.locks.length ? ' +' + (s.lockCount - s.locks.length) : ''));
      if (s.waitCount > 0) parts.push('waits for ' + s.waitCount);
      var text = parts.length > 0 ? parts.join(' · ') : '—';
      tr.appendChild(td('name' + (s.lockCount === 0 ? ' faint' : ''), text)).title = text;
      return tr;
    });
    fill('sessions', rows, t.sessions.more);
    count('sessions', t.sessionCount, false);
  }

  // ---- the event feed -------------------------------------------------------------------

  var TYPES = {
    'granted': 'granted', 'released': 'released', 'expired': 'expired', 'broken': 'broken',
    'waiter-joined': 'queued', 'waiter-left': 'left queue', 'counter-changed': 'set',
    'session-opened': 'opened', 'session-closed': 'closed', 'session-expired': 'expired',
    'leader-changed': 'leader'
  };
  /** What an event says beyond its type and name: whose, which token, what value. */
  function describe(ev) {
    var parts = [];
    if (ev.session !== undefined) parts.push('session ' + ev.session);
    if (ev.token !== undefined) parts.push('token ' + ev.token);
    if (ev.weight !== undefined && ev.weight > 1) parts.push('weight ' + ev.weight);
    if (ev.mode !== undefined) parts.push(ev.mode);
    if (ev.value !== undefined) parts.push(ev.kind === 'counter' ? '= ' + nf.format(Number(ev.value)) : 'value ' + JSON.stringify(String(ev.value)));
    if (ev.reason !== undefined) parts.push(ev.reason);
    return parts.join(' · ');
  }
  function addEvent(ev, live) {
    var box = byId('events');
    var empty = byId('e-events');
    if (empty) empty.remove();
    var row = el('div', 'ev k-' + ev.kind + (live ? ' new' : ''));
    row.appendChild(el('span', 't', live ? clock(new Date()) : ''));
    row.appendChild(el('span', 'stripe'));
    var body = el('div', 'body');
    var what = el('div', 'what');
    var leaderless = ev.type === 'leader-changed' && ev.session === undefined;
    what.appendChild(el('span', 'type', leaderless ? 'no leader' : TYPES[ev.type] || ev.type));
    var name = el('span', 'nm', ev.name !== undefined ? ev.name : '');
    if (ev.name !== undefined) name.title = ev.name;
    what.appendChild(name);
    what.appendChild(el('span', 'idx', '#' + nf.format(ev.index)));
    body.appendChild(what);
    var detail = describe(ev);
    if (detail) body.appendChild(el('div', 'detail', detail));
    row.appendChild(body);
    box.insertBefore(row, box.firstChild);
    while (box.childNodes.length > MAX_EVENTS) box.removeChild(box.lastChild);
    feed.count++;
    byId('c-events').textContent = nf.format(feed.count);
  }

  function startFeed() {
    if (feed.controller) return;
    var from;
    if (feed.resyncFrom) from = feed.resyncFrom;
    else if (feed.lastIndex) from = feed.lastIndex + 1;
    else from = Math.max(1, state.tables.applied + 1 - HISTORY);
    var liveFrom = state ? state.tables.applied + 1 : 0;
    feed.resyncFrom = 0;
    var ctrl = new AbortController();
    feed.controller = ctrl;
    fetch('ui/events?fromIndex=' + from, { headers: headers(), cache: 'no-store', signal: ctrl.signal })
      .then(function (res) {
        if (res.status === 401) { askToken('The node refused that token: enter one of role read or above.'); return; }
        if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
        var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        var buffer = '';
        var pump = function () {
          return reader.read().then(function (r) {
            if (r.done) return feedEnded(ctrl);
            buffer += r.value;
            var nl = buffer.indexOf('\n');
            while (nl >= 0) {
              var line = buffer.slice(0, nl);
              buffer = buffer.slice(nl + 1);
              if (line) onLine(JSON.parse(line), liveFrom);
              nl = buffer.indexOf('\n');
            }
            return pump();
          });
        };
        return pump();
      })
      .catch(function () { feedEnded(ctrl); });
  }
  function onLine(msg, liveFrom) {
    if (msg.started) {
      feed.retries = 0;
      setLive('on', 'live');
    } else if (msg.events) {
      msg.events.forEach(function (ev) {
        if (ev.index <= feed.lastIndex) return;
        addEvent(ev, ev.index >= liveFrom);
      });
      feed.lastIndex = Math.max(feed.lastIndex, msg.events[msg.events.length - 1].index);
      soon();
    } else if (msg.end) {
      if (msg.end.code === 'COMPACTED' && msg.end.resyncFrom) {
        // Older events are gone: go on from the oldest the node keeps, and re-read the state.
        if (feed.lastIndex && msg.end.resyncFrom > feed.lastIndex + 1) addGap(msg.end.resyncFrom);
        feed.resyncFrom = msg.end.resyncFrom;
        feed.lastIndex = Math.max(0, msg.end.resyncFrom - 1);
        feed.retries = -1;
        soon();
      }
    }
  }
  function addGap(from) {
    var box = byId('events');
    var row = el('div', 'ev');
    row.appendChild(el('span', 't', clock(new Date())));
    row.appendChild(el('span', 'stripe'));
    row.appendChild(el('div', 'detail', 'Events before #' + nf.format(from) + ' are no longer kept here; the tables were read again.'));
    box.insertBefore(row, box.firstChild);
  }
  function feedEnded(ctrl) {
    if (feed.controller !== ctrl) return;
    feed.controller = null;
    if (ctrl.signal.aborted) return;
    var delay = feed.retries < 0 ? 0 : Math.min(8000, 500 * Math.pow(2, feed.retries));
    feed.retries = Math.max(0, feed.retries) + 1;
    if (delay > 0) setLive('warn', 'reconnecting…');
    feed.retryTimer = setTimeout(function () {
      feed.retryTimer = 0;
      loadState().then(function () { if (state && poller) startFeed(); });
    }, delay);
  }

  // ---- start and stop -------------------------------------------------------------------

  function stop() {
    if (poller) clearInterval(poller);
    poller = 0;
    if (feed.retryTimer) clearTimeout(feed.retryTimer);
    feed.retryTimer = 0;
    var ctrl = feed.controller;
    feed.controller = null;
    if (ctrl) ctrl.abort();
  }
  function start() {
    if (needsToken && !token()) { askToken(''); return; }
    setLive('warn', 'connecting…');
    poller = setInterval(loadState, STATE_EVERY_MS);
    loadState().then(function () { if (state && poller) startFeed(); });
  }
  setInterval(tick, 1000);
  start();
})();
`;
