// kvmigrate web UI: plain JavaScript on the REST API (/api/v1) and its server-sent events.
// Every value from the API goes into the page as text (textContent), never as HTML.
'use strict';

const TOKEN_KEY = 'kvmigrate.token';
const $ = (sel) => document.querySelector(sel);
let stopStream = null; // closes the event stream of the job page being shown
let chart = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.substring(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super((err.code ? err.code + ': ' : '') + (err.message || ('HTTP ' + status)) + (err.hint ? ' (' + err.hint + ')' : ''));
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { 'Authorization': 'Bearer ' + token() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch('/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const json = text ? JSON.parse(text) : null;
  if (r.status === 401) { showLogin('The server refused the token.'); throw new ApiError(401, json); }
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

// Server-sent events over fetch, so that the token goes in a header (EventSource cannot send one).
function stream(path, onEvent) {
  const ctl = new AbortController();
  (async () => {
    const r = await fetch('/api/v1' + path, { headers: { 'Authorization': 'Bearer ' + token(), 'Accept': 'text/event-stream' }, signal: ctl.signal });
    if (!r.ok) return;
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.substring(0, i);
        buf = buf.substring(i + 2);
        let name = 'message', data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.substring(6).trim();
          else if (line.startsWith('data:')) data.push(line.substring(5).replace(/^ /, ''));
        }
        if (data.length) onEvent(name, JSON.parse(data.join('\n')));
      }
    }
  })().catch((e) => { if (e.name !== 'AbortError') console.warn('stream', e); });
  return () => ctl.abort();
}

function showLogin(message) {
  $('#login').hidden = false;
  $('#main').hidden = true;
  $('#logout').hidden = true;
  $('#token-error').textContent = message || '';
}

$('#token-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
  try {
    await api('GET', '/jobs?limit=1');
    $('#login').hidden = true;
    $('#main').hidden = false;
    $('#logout').hidden = false;
    route();
  } catch (e) {
    $('#token-error').textContent = e.message;
  }
});
$('#logout').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); showLogin(); });

const mib = (b) => b === null || b === undefined ? '-' : (b / 1048576).toFixed(1) + ' MiB';
const secs = (ms) => ms === null || ms === undefined ? '-' : (ms / 1000).toFixed(1) + ' s';
const stateCell = (s) => el('span', { class: 'state-' + s, 'data-state': s }, s);

// ---- hosts and their VMs
async function hostsPage() {
  const main = $('#main');
  main.replaceChildren(el('h2', {}, 'Hosts'), el('p', {}, 'loading...'));
  const { hosts } = await api('GET', '/hosts');
  const rows = hosts.map((h) => el('tr', {},
    el('td', {}, h.name), el('td', {}, h.uri), el('td', {}, h.reachable ? 'yes' : 'no: ' + h.error),
    el('td', {}, h.libvirtVersion || ''), el('td', {}, h.qemuVersion || ''), el('td', {}, h.reachable ? h.cpuVendor + ' ' + h.cpuModel : ''),
    el('td', {}, h.cpus ?? ''), el('td', {}, h.memoryKiB ? mib(h.memoryKiB * 1024) : ''), el('td', {}, h.runningVms ?? '')));
  main.replaceChildren(el('h2', {}, 'Hosts'),
    el('table', { id: 'hosts' }, el('tr', {}, ['name', 'URI', 'reachable', 'libvirt', 'QEMU', 'CPU', 'CPUs', 'memory', 'running'].map((t) => el('th', {}, t))), rows));
  for (const h of hosts.filter((x) => x.reachable)) {
    const section = el('section', { 'data-host': h.name }, el('h3', {}, 'VMs on ' + h.name));
    main.append(section);
    try {
      const { vms } = await api('GET', '/hosts/' + encodeURIComponent(h.name) + '/vms');
      section.append(el('table', { class: 'vms' }, el('tr', {}, ['name', 'state', 'memory', 'vCPUs', 'disks', ''].map((t) => el('th', {}, t))),
        vms.map((v) => el('tr', { 'data-vm': v.name },
          el('td', {}, v.name), el('td', {}, v.state), el('td', {}, mib(v.memoryKiB * 1024)), el('td', {}, v.vcpus),
          el('td', {}, v.disks.map((d) => d.target + '=' + d.source).join(', ')),
          el('td', {}, el('button', { type: 'button', class: 'move-btn', 'data-vm': v.name, 'data-host': h.name,
            onclick: () => openMove(v.name, h.name, hosts.map((x) => x.name).filter((n) => n !== h.name)) }, 'Move...'))))));
    } catch (e) {
      section.append(el('p', { class: 'error' }, e.message));
    }
  }
}

// ---- the move dialog: check, then plan, then start
let move = null;
function moveBody() {
  const b = { vm: move.vm, from: move.from, to: $('#move-to').value, policy: $('#move-policy').value };
  const bw = $('#move-bandwidth').value, dt = $('#move-maxdowntime').value;
  if (bw !== '') b.bandwidth = Number(bw);
  if (dt !== '') b.maxDowntime = Number(dt);
  return b;
}
function openMove(vm, from, targets) {
  move = { vm, from };
  $('#move-vm').textContent = vm;
  $('#move-from').textContent = from;
  $('#move-to').replaceChildren(...targets.map((t) => el('option', {}, t)));
  // a fresh dialog for every VM: no option carried over from the previous move
  $('#move-policy').value = 'safe';
  $('#move-bandwidth').value = '';
  $('#move-maxdowntime').value = '';
  $('#move-findings').replaceChildren();
  $('#move-plan-out').replaceChildren();
  $('#move-error').textContent = '';
  $('#move-plan').disabled = true;
  $('#move-start').disabled = true;
  $('#move-dialog').showModal();
}
for (const id of ['#move-to', '#move-policy', '#move-bandwidth', '#move-maxdowntime']) {
  $(id).addEventListener('change', () => { $('#move-plan').disabled = true; $('#move-start').disabled = true; });
}
$('#move-close').addEventListener('click', () => $('#move-dialog').close());
$('#move-check').addEventListener('click', async () => {
  $('#move-error').textContent = '';
  $('#move-findings').replaceChildren(el('p', {}, 'checking...'));
  try {
    const r = await api('POST', '/checks', moveBody());
    const shown = r.findings.filter((f) => f.severity !== 'PASS');
    $('#move-findings').replaceChildren(
      el('p', { id: 'check-result', 'data-ok': String(r.ok) }, r.ok ? 'Check passed' : 'Check failed: ' + r.blocking.join(', '),
        ' (' + r.counts.pass + ' passed, ' + r.counts.warn + ' warnings, ' + r.counts.fail + ' failures, ' + r.elapsedMs + ' ms)'),
      shown.length ? el('ul', {}, shown.map((f) => el('li', { class: 'sev-' + f.severity }, f.severity + ' ' + f.code + ': ' + f.message + (f.hint ? ' - ' + f.hint : '')))) : '');
    $('#move-plan').disabled = !r.ok;
  } catch (e) {
    $('#move-findings').replaceChildren();
    $('#move-error').textContent = e.message;
  }
});
$('#move-plan').addEventListener('click', async () => {
  $('#move-error').textContent = '';
  $('#move-plan-out').replaceChildren(el('p', {}, 'measuring the guest...'));
  try {
    const p = await api('POST', '/plans', moveBody());
    const outlook = p.expectedToComplete ? 'expected ' + secs(p.expectedTotalMs) + (p.lowerBoundOnly ? ' (lower bound)' : '')
      + ', downtime ~' + p.expectedDowntimeMs + ' ms' : 'not expected to complete under this policy';
    $('#move-plan-out').replaceChildren(el('p', { id: 'plan-result', 'data-completes': String(p.expectedToComplete) }, 'Plan: ' + p.strategyText + '; '
      + outlook + '; dirty rate ' + mib(p.dirtyRateBps) + '/s'),
      el('ul', {}, p.reasons.map((r) => el('li', {}, r))));
  } catch (e) {
    $('#move-plan-out').replaceChildren(el('p', { id: 'plan-result' }, 'No plan: ' + e.message));
  }
  $('#move-start').disabled = false;
});
$('#move-start').addEventListener('click', async () => {
  $('#move-error').textContent = '';
  $('#move-start').disabled = true;
  try {
    const job = await api('POST', '/jobs', moveBody());
    $('#move-dialog').close();
    location.hash = '#/jobs/' + job.id;
  } catch (e) {
    $('#move-error').textContent = e.message;
  }
});

// ---- one job: live charts, decisions, figures, cancel
function jobPage(id) {
  const main = $('#main');
  const points = { t: [], remaining: [], throughput: [], dirty: [], downtime: [] };
  const decisions = [];
  let progressPoints = 0;
  const head = el('p', { id: 'job-head' });
  const figures = el('table', { id: 'job-figures', class: 'figures' });
  const decisionList = el('ol', { id: 'decisions' });
  const timeline = el('ol', { id: 'timeline' });
  const cancel = el('button', { id: 'job-cancel', type: 'button', hidden: true, onclick: async () => {
    cancel.disabled = true;
    try { render(await api('POST', '/jobs/' + id + '/cancel')); } catch (e) { head.append(el('span', { class: 'error' }, ' ' + e.message)); }
  } }, 'Cancel');
  const chartBox = el('div', { id: 'chart', 'data-points': 0 });
  main.replaceChildren(el('h2', {}, 'Job ', el('code', {}, id)), head, cancel, chartBox,
    el('h3', {}, 'Decisions'), decisionList, el('h3', {}, 'Figures'), figures, el('h3', {}, 'Timeline'), timeline);

  const markDecisions = (u) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = '#c00';
    ctx.fillStyle = '#c00';
    ctx.setLineDash([4, 3]);
    let drawn = 0;
    decisions.forEach((d, i) => {
      const x = u.valToPos(d.t, 'x', true);
      if (!(x >= u.bbox.left - 1 && x <= u.bbox.left + u.bbox.width + 1)) return;
      drawn++;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillText(String(i + 1), x + 3, u.bbox.top + 12);
    });
    ctx.restore();
    chartBox.setAttribute('data-decisions-drawn', drawn);
  };
  chart = new uPlot({
    width: Math.min(1000, window.innerWidth - 40), height: 320,
    series: [{}, { label: 'memory remaining (MiB)', stroke: '#06c', scale: 'mib' }, { label: 'throughput (MiB/s)', stroke: '#090', scale: 'mib' },
      { label: 'dirty rate (MiB/s)', stroke: '#c60', scale: 'mib' }, { label: 'expected downtime (ms)', stroke: '#909', scale: 'ms' }],
    axes: [{}, { scale: 'mib', label: 'MiB, MiB/s' }, { scale: 'ms', side: 1, label: 'ms', grid: { show: false } }],
    scales: { x: { time: true } },
    hooks: { draw: [markDecisions] },
  }, [[], [], [], [], []], chartBox);
  let redraw = null;
  const refresh = () => {
    if (redraw) return;
    redraw = setTimeout(() => {
      redraw = null;
      chart.setData([points.t, points.remaining, points.throughput, points.dirty, points.downtime]);
      chartBox.setAttribute('data-points', progressPoints);
    }, 200);
  };

  const render = (job) => {
    head.replaceChildren('VM ', el('b', {}, job.vm), ' ' + job.from + ' \u2192 ' + job.to + ' (' + job.kind + ', policy ' + (job.request.policy || '') + '): ',
      el('span', { id: 'job-state', class: 'state-' + job.state, 'data-state': job.state }, job.state), job.phase ? ' - ' + job.phase : '',
      job.error ? el('span', { class: 'error' }, ' ' + job.error.code + ': ' + job.error.message) : '');
    cancel.hidden = job.state !== 'running' && job.state !== 'queued';
    const f = job.figures;
    const rows = [['total', secs(f.totalMs)], ['downtime', f.downtimeMs === null ? '-' : f.downtimeMs + ' ms'], ['sent', mib(f.bytesSent)],
      ['iterations', f.iterations ?? '-'], ['predicted', secs(f.predictedMs)]];
    if (job.placement) rows.push(['running on', (job.placement.runningOn || []).join(', ') || '-'], ['defined on', (job.placement.definedOn || []).join(', ') || '-']);
    figures.replaceChildren(...rows.map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, v))));
  };

  const onEvent = async (name, e) => {
    if (name === 'end') { render(e); return; }
    const t = Date.parse(e.at) / 1000;
    timeline.append(el('li', { 'data-type': e.type }, new Date(e.at).toLocaleTimeString() + ' [' + (e.step || '') + '] ' + e.message));
    if (e.type === 'progress' && e.data.memoryRemaining !== undefined) {
      progressPoints++;
      points.t.push(t);
      points.remaining.push(e.data.memoryRemaining / 1048576);
      points.throughput.push(e.data.memoryBps / 1048576);
      points.dirty.push(e.data.dirtyRateBps / 1048576);
      points.downtime.push(e.data.expectedDowntimeMs);
      refresh();
    } else if (e.type === 'decision') {
      decisions.push({ t, text: e.message });
      // a point without values at the decision's time, so the time axis reaches every mark
      if (points.t.length && t >= points.t[points.t.length - 1]) {
        points.t.push(t);
        for (const k of ['remaining', 'throughput', 'dirty', 'downtime']) points[k].push(null);
      }
      decisionList.append(el('li', {}, new Date(e.at).toLocaleTimeString() + ' ' + e.message));
      refresh();
    } else if (e.type === 'step' || e.type === 'state') {
      api('GET', '/jobs/' + id).then(render).catch(() => {});
    }
  };
  api('GET', '/jobs/' + id).then(render).catch((e) => head.replaceChildren(el('span', { class: 'error' }, e.message)));
  stopStream = stream('/jobs/' + encodeURIComponent(id) + '/events', onEvent);
}

// ---- history with filters
async function jobsPage() {
  const main = $('#main');
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const vm = el('input', { id: 'filter-vm', placeholder: 'VM', value: q.get('vm') || '' });
  const host = el('input', { id: 'filter-host', placeholder: 'host', value: q.get('host') || '' });
  const state = el('select', { id: 'filter-state' }, ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']
    .map((s) => el('option', { value: s, selected: s === (q.get('state') || '') }, s || 'any state')));
  const apply = () => {
    const p = new URLSearchParams();
    if (vm.value) p.set('vm', vm.value);
    if (host.value) p.set('host', host.value);
    if (state.value) p.set('state', state.value);
    location.hash = '#/jobs' + (p.toString() ? '?' + p : '');
  };
  const table = el('table', { id: 'jobs' });
  main.replaceChildren(el('h2', {}, 'Jobs'),
    el('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); apply(); } }, vm, host, state, el('button', { id: 'filter-apply', type: 'submit' }, 'Filter')),
    table);
  const p = new URLSearchParams();
  for (const k of ['vm', 'host', 'state']) if (q.get(k)) p.set(k, q.get(k));
  p.set('limit', '200');
  const { jobs } = await api('GET', '/jobs?' + p);
  table.replaceChildren(el('tr', {}, ['id', 'VM', 'from', 'to', 'kind', 'state', 'total', 'downtime', 'created'].map((t) => el('th', {}, t))),
    ...jobs.map((j) => el('tr', { 'data-job': j.id }, el('td', {}, el('a', { href: '#/jobs/' + j.id }, j.id)), el('td', {}, j.vm), el('td', {}, j.from),
      el('td', {}, j.to), el('td', {}, j.kind), el('td', {}, stateCell(j.state)), el('td', {}, secs(j.figures.totalMs)),
      el('td', {}, j.figures.downtimeMs === null ? '-' : j.figures.downtimeMs + ' ms'), el('td', {}, new Date(j.createdAt).toLocaleString()))));
}

function route() {
  if (stopStream) { stopStream(); stopStream = null; }
  if (chart) { chart.destroy(); chart = null; }
  if (!token()) { showLogin(); return; }
  $('#login').hidden = true;
  $('#main').hidden = false;
  $('#logout').hidden = false;
  const h = location.hash || '#/';
  const job = h.match(/^#\/jobs\/([A-Za-z0-9-]+)$/);
  const page = job ? jobPage(job[1]) : h.startsWith('#/jobs') ? jobsPage() : hostsPage();
  Promise.resolve(page).catch((e) => { if (e.status !== 401) $('#main').append(el('p', { class: 'error' }, e.message)); });
}
window.addEventListener('hashchange', route);
route();
