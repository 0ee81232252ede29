// The dashboard page: reads the JSON API of the server that served it and draws it. Every
// value from the engine (addresses, template names, error messages) is hostile: it reaches
// the page only as text (textContent, createTextNode, SVG <title>), never as markup.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const SERIES = ['sent', 'delivered', 'opened', 'clicked', 'bounced', 'complained', 'failed'];

/** An element with attributes and children; a string child becomes a text node. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

function clear(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== undefined && c !== null));
}

function byId(id) {
  return document.getElementById(id);
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error && body.error.code;
    this.fix = body && body.error && body.error.fix;
  }
}

// The run's token: the server's first answer puts it in the fragment (#token=…), which
// never travels in a request; the page keeps it in this tab's sessionStorage (which belongs
// to this origin, port included) and takes it out of the address bar.
const TOKEN_KEY = 'sesmailengine-dashboard-token';

function sessionToken() {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, '', '/');
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path, body) {
  const token = sessionToken();
  if (!token) throw new ApiError(401, null);
  const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
  const init = body === undefined
    ? { headers }
    : { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const response = await fetch(path, { ...init, credentials: 'omit', cache: 'no-store' });
  let value = null;
  try {
    value = await response.json();
  } catch {
    value = null;
  }
  if (!response.ok) throw new ApiError(response.status, value);
  return value;
}

function errorText(error) {
  return `${error.message}${error.fix ? ` — ${error.fix}` : ''}`;
}

function showProblem(error) {
  const problem = byId('problem');
  if (!error) {
    problem.hidden = true;
    return;
  }
  problem.textContent = error.status === 401
    ? 'This page has no valid token: open the URL `sesmailengine dashboard` printed for this run (each run has its own; after a restart, use the new one).'
    : errorText(error);
  problem.hidden = false;
}

function say(id, text, isError) {
  const node = byId(id);
  node.textContent = text;
  node.className = isError ? 'message error' : 'message';
  node.hidden = !text;
}

function number(n) {
  return Number(n || 0).toLocaleString('en-US');
}

function statusBadge(status) {
  return el('span', { className: `status status-${String(status).replace(/[^a-z_]/gi, '')}` }, String(status));
}

function diagnoseLink(text, subject) {
  return el('a', { className: 'link', href: '#search-panel', 'data-subject': subject, onclick: (event) => { event.preventDefault(); runDiagnosis(subject); } }, text);
}

function table(headers, rows) {
  if (rows.length === 0) return el('p', { className: 'empty' }, 'None.');
  return el('div', { className: 'table-wrap' }, el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))), el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c)))))));
}

// ----------------------------------------------------------------------------- today and rates

function renderToday(overview) {
  const today = overview.days[overview.days.length - 1];
  byId('today-date').textContent = `${today.date} UTC`;
  const rateOf = { delivered: today.deliveryRate, opened: today.openRate, clicked: today.clickRate, bounced: today.bounceRate, complained: today.complaintRate };
  clear(byId('today'), SERIES.map((key) =>
    el('div', { className: 'card', 'data-counter': key },
      el('div', { className: 'label' }, el('span', { className: `swatch s-${key}` }), key),
      el('div', { className: 'value' }, number(today[key])),
      rateOf[key] !== undefined ? el('div', { className: 'rate' }, `${rateOf[key]}% of sent`) : el('div', { className: 'rate' }, '\u00a0'))));
  const h = overview.health;
  clear(byId('rates'),
    rateBox('Bounce rate (hard bounces)', h.bounce, h.bounce.brake),
    rateBox('Complaint rate', h.complaint));
}

/** A horizontal gauge: the rate, SES's review and at-risk marks and, for bounces, the engine's brake. */
function gaugeMarks(rate, brake) {
  const marks = [
    { p: rate.ses.reviewPercent, label: `SES review ${rate.ses.reviewPercent}%`, cls: 'gauge-mark' },
    { p: rate.ses.atRiskPercent, label: `SES at risk ${rate.ses.atRiskPercent}%`, cls: 'gauge-mark' },
  ];
  if (brake) marks.push({ p: brake.thresholdPercent, label: `engine brake ${brake.thresholdPercent}%`, cls: 'gauge-mark brake' });
  return marks;
}

function gauge(rate, brake) {
  const width = 400;
  const marks = gaugeMarks(rate, brake);
  const scaleMax = Math.max(...marks.map((m) => m.p * 1.25), rate.ratePercent * 1.05);
  const x = (p) => 2 + (Math.min(p, scaleMax) / scaleMax) * (width - 4);
  return svg('svg', { class: 'gauge', viewBox: `0 0 ${width} 22`, role: 'img', 'aria-label': `rate ${rate.ratePercent}%` },
    svg('rect', { class: 'gauge-track', x: 2, y: 5, width: width - 4, height: 12, rx: 3 }),
    svg('rect', { class: `gauge-fill level-${rate.ses.level}`, x: 2, y: 5, width: Math.max(0, x(rate.ratePercent) - 2), height: 12, rx: 3 },
      svg('title', {}, `${rate.ratePercent}% (${rate.count} of ${rate.sent} sent)`)),
    marks.map((m) => svg('line', { class: m.cls, x1: x(m.p), x2: x(m.p), y1: 1, y2: 21 }, svg('title', {}, m.label))));
}

function gaugeLegend(rate, brake) {
  return el('div', { className: 'gauge-legend' }, gaugeMarks(rate, brake).map((m) => el('span', {}, el('span', { className: `mark-key ${m.cls.includes('brake') ? 'brake' : ''}` }), m.label)));
}

function rateBox(title, rate, brake) {
  const level = { healthy: 'below SES\u2019s review threshold', review: 'at or over SES\u2019s review threshold', 'at-risk': 'at or over SES\u2019s at-risk threshold' }[rate.ses.level];
  const brakeLine = brake
    ? brake.on
      ? el('div', { className: 'level-problem' }, brake.reason === 'floor'
        ? `Engine brake ON: ${number(rate.count)} hard bounces before ${number(brake.minimumSends)} sends reached the floor of ${number(brake.maxHardBounces)}; every email fails BRK001 until 00:00 UTC.`
        : `Engine brake ON: every email fails BRK001 until 00:00 UTC (threshold ${brake.thresholdPercent}%).`)
      : el('div', {}, `Engine brake off (threshold ${brake.thresholdPercent}%${brake.armed ? '' : `; the rate acts after ${number(brake.minimumSends)} sends in a day${brake.maxHardBounces > 0 ? `, until then ${number(brake.maxHardBounces)} hard bounces hold it` : ''}`}).`)
    : null;
  return el('div', { className: 'rate-box', 'data-rate': title },
    el('div', {}, title),
    el('div', { className: `big level-${rate.ses.level}` }, `${rate.ratePercent}%`, el('span', { className: 'muted' }, ` ${number(rate.count)} of ${number(rate.sent)} sent — ${level}`)),
    gauge(rate, brake),
    gaugeLegend(rate, brake),
    brakeLine);
}

// ----------------------------------------------------------------------------- chart

/** The top of the y axis: four steps of 1, 2, 2.5 or 5 times a power of ten (whole numbers), so every tick is a round number. */
function niceMax(value) {
  const quarter = Math.max(1, value / 4);
  const power = 10 ** Math.floor(Math.log10(quarter));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= quarter && Number.isInteger(s));
  return step * 4;
}

function renderChart(days) {
  clear(byId('legend'), SERIES.map((key) => el('span', {}, el('span', { className: `swatch s-${key}` }), key === 'sent' ? 'sent (bars)' : key)));
  const width = 920, height = 280, left = 44, right = 10, top = 12, bottom = 34;
  const plotW = width - left - right, plotH = height - top - bottom;
  const max = niceMax(Math.max(...days.flatMap((d) => SERIES.map((k) => d[k] || 0))));
  const slot = plotW / days.length;
  const y = (v) => top + plotH - (v / max) * plotH;
  const xMid = (i) => left + slot * i + slot / 2;
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max];
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'emails per day, last 31 days' },
    ticks.map((t) => svg('g', {},
      svg('line', { class: 'grid', x1: left, x2: width - right, y1: y(t), y2: y(t) }),
      svg('text', { class: 'tick', x: left - 6, y: y(t) + 3, 'text-anchor': 'end' }, number(Math.round(t))))),
    svg('line', { class: 'axis', x1: left, x2: width - right, y1: top + plotH, y2: top + plotH }),
    svg('line', { class: 'axis', x1: left, x2: left, y1: top, y2: top + plotH }),
    days.map((d, i) => {
      const h = Math.max(0, top + plotH - y(d.sent || 0));
      return svg('rect', { class: 'bar-sent', 'data-date': d.date, 'data-sent': d.sent || 0, x: left + slot * i + slot * 0.18, y: top + plotH - h, width: slot * 0.64, height: h },
        svg('title', {}, `${d.date}\n${SERIES.map((k) => `${k}: ${number(d[k])}`).join('\n')}\nbounce rate ${d.bounceRate}%, complaint rate ${d.complaintRate}%`));
    }),
    SERIES.filter((k) => k !== 'sent').map((key) => svg('g', {},
      svg('polyline', { class: `series s-${key}`, points: days.map((d, i) => `${xMid(i).toFixed(1)},${y(d[key] || 0).toFixed(1)}`).join(' ') }),
      days.map((d, i) => (d[key] ? svg('circle', { class: `dot s-${key}`, cx: xMid(i), cy: y(d[key]), r: 2.5 }, svg('title', {}, `${d.date}: ${number(d[key])} ${key}`)) : null)))),
    days.map((d, i) => (i % 5 === 0 || i === days.length - 1
      ? svg('text', { class: 'tick', x: xMid(i), y: height - bottom + 16, 'text-anchor': 'middle' }, d.date.slice(5))
      : null)));
  clear(byId('chart'), chart);
  // In a narrow window the chart scrolls sideways: show the newest days first.
  byId('chart').scrollLeft = byId('chart').scrollWidth;
}

// ----------------------------------------------------------------------------- diagnosis

function verdictBox(verdict) {
  return el('div', { className: `verdict level-${verdict.level}`, 'data-level': verdict.level },
    el('div', { className: 'summary' }, `Verdict: ${verdict.summary}`),
    verdict.details.length ? el('ul', {}, verdict.details.map((d) => el('li', {}, d))) : null,
    verdict.fix.length ? [el('strong', {}, 'Fix'), el('ol', {}, verdict.fix.map((f) => el('li', {}, f)))] : null,
    verdict.warnings.length ? el('ul', {}, verdict.warnings.map((w) => el('li', { className: 'level-pending' }, w))) : null);
}

function recordFacts(record) {
  const rows = [
    ['emailId', record.emailId], ['to', record.toEmail], ['template', record.templateName], ['status', statusBadge(record.status)],
    ['error', record.errorCode ? `${record.errorCode}${record.errorMessage ? `: ${record.errorMessage}` : ''}` : null],
    ['created', record.timestamp], ['sent', record.sentAt], ['delivered', record.deliveredAt], ['opened', record.openedAt],
    ['bounce', record.bounceType ? `${record.bounceType}${record.bounceSubType ? ` / ${record.bounceSubType}` : ''}${record.bounceReason ? ` — ${record.bounceReason}` : ''}` : null],
    ['SES message', record.sesMessageId], ['retry attempt', record.retryAttempt ? String(record.retryAttempt) : null],
  ].filter(([, v]) => v !== undefined && v !== null && v !== '');
  return el('dl', { className: 'kv' }, rows.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

async function runDiagnosis(subject) {
  const input = byId('search');
  input.value = subject;
  const out = byId('diagnosis');
  clear(out, el('p', { className: 'muted' }, 'Reading…'));
  try {
    const report = await api(`/api/diagnose?q=${encodeURIComponent(subject)}`);
    const s = report.subject;
    const history = report.retryChain.length > 1
      ? [el('h3', {}, 'History (every attempt)'), table(['attempt', 'emailId', 'status', 'code', 'created'], report.retryChain.map((r) => [String(r.retryAttempt || 0), r.emailId, statusBadge(r.status), r.errorCode || '', r.timestamp]))]
      : [];
    const recent = s.kind === 'address'
      ? [el('h3', {}, `Recent emails to ${s.address}`), table(['created', 'emailId', 'status', 'code', 'template'], report.recentRecords.map((r) => [r.timestamp, diagnoseLink(r.emailId, r.emailId), statusBadge(r.status), r.errorCode || '', r.templateName]))]
      : [];
    const suppression = report.suppression
      ? el('p', {}, `Suppressed: ${report.suppression.email} (${report.suppression.reason} since ${report.suppression.createdAt}).`)
      : null;
    clear(out,
      el('h3', {}, s.kind === 'emailId' ? `Email ${s.emailId}` : `Address ${s.address}`),
      verdictBox(report.verdict),
      report.record ? [el('h3', {}, 'Tracking record'), recordFacts(report.record)] : null,
      history, recent, suppression,
      report.notes.map((n) => el('p', { className: 'level-pending' }, n)));
  } catch (error) {
    clear(out, el('p', { className: 'message error' }, errorText(error)));
  }
}

// ----------------------------------------------------------------------------- lists

async function loadRecent() {
  const data = await api('/api/emails');
  clear(byId('recent'), table(['created', 'emailId', 'to', 'template', 'status', 'code'],
    data.emails.map((e) => [e.timestamp, diagnoseLink(e.emailId, e.emailId), diagnoseLink(e.toEmail, e.toEmail), e.templateName, statusBadge(e.status), e.errorCode || ''])));
}

async function loadSuppression() {
  const type = byId('suppression-type').value;
  const address = byId('suppression-address').value.trim();
  const query = new URLSearchParams();
  if (address) query.set('address', address);
  else if (type) query.set('type', type);
  try {
    const data = await api(`/api/suppression${query.toString() ? `?${query}` : ''}`);
    clear(byId('suppression'), table(['address', 'reason', 'since', 'from email / details', ''],
      data.entries.map((e) => [e.email, e.reason, e.createdAt, [e.sourceEmailId, e.details].filter(Boolean).join(' '),
        el('button', { type: 'button', className: 'danger', 'data-remove': e.email, onclick: () => removeSuppressed(e) }, 'Remove')])));
  } catch (error) {
    say('suppression-message', errorText(error), true);
  }
}

async function removeSuppressed(entry) {
  const warnings = {
    'hard-bounce': 'It hard-bounced: if the address still does not exist, the next email bounces again and counts against your SES bounce rate.',
    'spam-complaint': 'The recipient reported your email as spam. Mailing them again harms your SES reputation.',
    unsubscribed: 'The recipient unsubscribed.',
  };
  if (!window.confirm(`Remove ${entry.email} (${entry.reason}) from the suppression list?\n\n${warnings[entry.reason] || ''}`)) return;
  let force = false;
  if (entry.reason === 'spam-complaint') {
    force = window.confirm(`Only if ${entry.email} asked to receive mail again: remove the spam complaint anyway?`);
    if (!force) return;
  }
  try {
    const result = await api('/api/suppression/remove', { confirm: true, address: entry.email, force });
    say('suppression-message', result.removed ? `${result.email} removed; requests to it are sent again.` : `${result.email} was not on the list.`, false);
  } catch (error) {
    say('suppression-message', errorText(error), true);
  }
  await loadSuppression();
}

const QUEUE_LABEL = { send: 'send DLQ', feedback: 'feedback DLQ', events: 'event-delivery DLQ', webhook: 'webhook DLQ' };

async function loadDlq() {
  const data = await api('/api/dlq');
  clear(byId('dlq'), data.queues.length === 0 ? el('p', { className: 'empty' }, 'No dead-letter queues.') : data.queues.map((q) => {
    const count = q.depth.visible + q.depth.inFlight;
    return el('div', { className: 'queue', 'data-queue': q.queue },
      el('div', { className: 'head' },
        el('strong', {}, QUEUE_LABEL[q.queue] || q.queue), el('span', { className: 'muted' }, q.name),
        el('span', { className: count ? 'level-problem' : 'level-ok' }, count ? `${number(count)} message${count === 1 ? '' : 's'}` : 'empty'),
        el('span', { className: 'spacer' }),
        count ? el('button', { type: 'button', 'data-redrive': q.queue, onclick: () => redrive(q.queue, count) }, 'Redrive') : null),
      q.messages.length ? table(['message', 'received', 'last error', 'why'], q.messages.map((m) => [
        [m.emailId ? diagnoseLink(m.emailId, m.emailId) : m.messageId, m.to ? ` to ${m.to}` : '', m.templateName ? ` (${m.templateName})` : ''],
        String(m.receiveCount),
        m.lastError ? `${m.lastError.reason} (${m.lastError.at})` : m.validation && !m.validation.ok ? `${m.validation.code} ${m.validation.message}` : '',
        m.why])) : null);
  }));
}

async function redrive(queue, count) {
  if (!window.confirm(`Move ${count} message(s) of the ${QUEUE_LABEL[queue] || queue} back to their queue? Do it once the cause is fixed: requests that already have a record are not sent twice.`)) return;
  try {
    const result = await api('/api/dlq/redrive', { confirm: true, queue });
    const moved = result.results.reduce((n, r) => n + (r.moved || 0), 0);
    say('dlq-message', result.failures.length ? `Redrive incomplete: ${result.failures.join('; ')}` : `Moved ${moved} message(s) back.`, result.failures.length > 0);
  } catch (error) {
    say('dlq-message', errorText(error), true);
  }
  await loadDlq();
}

async function loadAlarms() {
  const a = await api('/api/alarms');
  clear(byId('alarms'), el('h3', {}, 'Alarms in ALARM'), a.available === false ? el('p', { className: 'empty' }, a.reason)
    : a.alarms.length === 0 ? el('p', { className: 'level-ok' }, 'None: every alarm of the stack is OK.')
      : table(['alarm', 'since', 'reason'], a.alarms.map((x) => [x.name, x.since || '', x.reason])));
}

async function loadQuota() {
  const q = await api('/api/quota');
  const limit = (n, unit) => (n === undefined || n < 0 ? 'no limit' : `${number(n)}${unit}`);
  clear(byId('quota'), el('h3', {}, 'SES quota and pacing'), el('dl', { className: 'kv' },
    el('dt', {}, 'max send rate'), el('dd', {}, limit(q.maxSendRate, '/s')),
    el('dt', {}, '24-hour quota'), el('dd', {}, limit(q.max24HourSend, '')),
    el('dt', {}, 'sent in the last 24 h'), el('dd', {}, `${number(q.sentLast24Hours)}${q.quotaUsedPercent !== undefined ? ` (${q.quotaUsedPercent}% of the quota)` : ''}`),
    el('dt', {}, 'engine pacing'), el('dd', {}, q.pacing),
    q.sendingEnabled === false ? [el('dt', {}, 'sending'), el('dd', { className: 'level-problem' }, 'disabled for the account')] : null));
}

const CHECK_LEVEL = { ok: 'level-ok', warn: 'level-pending', fail: 'level-problem', unknown: 'level-pending' };

async function loadDeliverability() {
  const d = await api('/api/deliverability');
  if (!d.report) {
    clear(byId('deliverability'), el('p', { className: 'empty' }, d.reason));
    return;
  }
  const r = d.report;
  const rows = r.items.map((item) => el('tr', { 'data-check': item.id },
    el('td', {}, item.title),
    el('td', { className: CHECK_LEVEL[item.state] || '' }, item.state),
    el('td', {},
      el('div', {}, item.summary),
      item.note ? el('div', { className: 'empty' }, item.note) : null,
      item.fix ? el('div', {}, el('strong', {}, 'Fix: '), item.fix) : null,
      item.records && item.records.length
        ? el('ul', { className: 'records' }, item.records.map((rec) => el('li', {}, el('code', {}, `${rec.type} ${rec.name} ${rec.value}`))))
        : null,
      item.subjects && item.subjects.length ? el('div', { className: 'empty' }, `Templates: ${item.subjects.join(', ')}`) : null)));
  clear(byId('deliverability'),
    el('p', {}, 'Sender ', el('code', {}, r.sender), ' — overall ', el('span', { className: CHECK_LEVEL[r.state] || '' }, r.state)),
    d.note ? el('p', { className: 'empty', 'data-note': 'deliverability' }, d.note) : null,
    el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'check'), el('th', {}, 'state'), el('th', {}, 'what was found, and the fix'))), el('tbody', {}, rows)));
}

/** The account panels, for the routes this server has. */
async function loadAccount() {
  const routes = (await api('/api')).routes.map((r) => r.path);
  await Promise.all([
    routes.includes('/api/alarms') ? panel('alarms', loadAlarms) : null,
    routes.includes('/api/quota') ? panel('quota', loadQuota) : null,
    routes.includes('/api/deliverability') ? panel('deliverability', loadDeliverability) : null,
  ]);
}

// ----------------------------------------------------------------------------- start

/** Runs a panel's loader; its failure is shown in the panel. */
async function panel(id, load) {
  try {
    await load();
  } catch (error) {
    if (error.status === 401) showProblem(error);
    clear(byId(id), el('p', { className: 'message error' }, errorText(error)));
  }
}

async function refresh() {
  showProblem(null);
  try {
    const overview = await api('/api/overview');
    byId('target').textContent = overview.target.description;
    byId('updated').textContent = `updated ${new Date(overview.generatedAt).toLocaleTimeString()}`;
    renderToday(overview);
    renderChart(overview.days);
    document.body.dataset.loaded = 'overview';
    // Each panel reads on its own: one refused read (a missing permission) leaves the others.
    await Promise.all([
      panel('recent', loadRecent),
      panel('suppression', loadSuppression),
      panel('dlq', loadDlq),
      panel('alarms', loadAccount),
    ]);
    document.body.dataset.loaded = 'all';
  } catch (error) {
    showProblem(error);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  sessionToken();
  byId('refresh').addEventListener('click', refresh);
  byId('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const subject = byId('search').value.trim();
    if (subject) runDiagnosis(subject);
  });
  byId('suppression-form').addEventListener('submit', (event) => {
    event.preventDefault();
    say('suppression-message', '', false);
    loadSuppression();
  });
  refresh();
});
