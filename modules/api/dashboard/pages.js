// The dashboard's pages. Each takes {main, args, onClose, setStatus, refreshApprovalCount},
// fills <main> from the REST API, and follows what changes over the event stream.
import { api, all, fill, h, stream, time, table, errorBox, pathId } from './api.js';
import { unified, sideBySide } from './diff.js';

const stateClass = (state) =>
  ['succeeded', 'done', 'ok', 'pushed', 'confirmed'].includes(state) ? 'ok'
    : ['failed', 'cancelled', 'denied', 'timeout', 'error'].includes(state) ? 'bad' : '';

const badge = (state) => h('span', { class: stateClass(state) }, state || '-');

function output(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return h('pre', {}, value);
  if (Array.isArray(value)) {
    return h('div', {}, value.map((item) => item && item.command !== undefined
      ? [h('div', { class: 'muted' }, item.command), h('pre', {}, item.output ?? '')]
      : h('pre', {}, JSON.stringify(item, null, 2))));
  }
  return h('pre', {}, JSON.stringify(value, null, 2));
}

// --- fleet: the inventory with each device's last backup and compliance
async function fleet({ main }) {
  const selector = h('input', { id: 'selector', value: 'all', 'aria-describedby': 'selector-help' });
  const body = h('div');
  const load = async () => {
    fill(body, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const [devices, backups, runs] = await Promise.all([
        all('/devices?selector=' + encodeURIComponent(selector.value || 'all')),
        all('/configs').catch(() => []),
        all('/compliance/runs', 500).catch(() => []),
      ]);
      // Reports exist only for policies that have run.
      const policies = [...new Set(runs.map((r) => r.policy))].map((name) => ({ name }));
      const backup = Object.fromEntries(backups.map((b) => [b.device, b]));
      const scores = {};
      for (const policy of policies) {
        try {
          const report = await api('GET', `/compliance/policies/${pathId(policy.name)}/report`);
          for (const d of report.devices || []) {
            const worst = scores[d.device];
            if (!worst || d.score < worst.score) scores[d.device] = { score: d.score, policy: policy.name, fail: d.fail };
          }
        } catch { /* a policy never run has no report */ }
      }
      fill(body,
        h('p', { class: 'muted' }, `${devices.length} devices`),
        table(['Device', 'Platform', 'Site', 'Role', 'Last backup', 'Compliance'], devices.map((d) => {
          const b = backup[d.name];
          const s = scores[d.name];
          return [
            h('a', { href: `#/configs/${pathId(d.name)}` }, d.name), d.platform,
            (d.vars || {}).site || '', (d.vars || {}).role || '',
            b ? h('span', { class: b.ok ? 'ok' : 'bad' }, `${time(b.checked_us)} ${b.ok ? `v${b.version}` : b.error || 'failed'}`) : 'never',
            s ? h('span', { class: s.fail ? 'bad' : 'ok' }, `${Math.round(s.score)}% (${s.policy})`) : '-',
          ];
        })));
    } catch (error) {
      fill(body, errorBox(error));
    }
  };
  fill(main, h('h1', {}, 'Fleet'),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); load(); } },
      h('div', {}, h('label', { for: 'selector' }, 'Selector'), selector),
      h('button', { type: 'submit' }, 'Show')),
    h('p', { id: 'selector-help', class: 'muted' }, 'all, site=dc1, role=leaf and site=dc1, r1,r2'),
    body);
  await load();
}

// --- jobs: the list, and one job's per-device results, live
async function jobs({ main, args, onClose }) {
  if (args[0]) return job({ main, id: args[0], onClose });
  const body = h('div');
  const load = async () => {
    const list = await api('GET', '/jobs?limit=100');
    fill(body, table(['Job', 'Kind', 'Target', 'State', 'Devices', 'Started', 'By'],
      list.items.map((j) => [h('a', { href: `#/jobs/${pathId(j.id)}` }, j.id), j.spec.kind,
        j.spec.target, badge(j.state),
        `${j.counts.ok ?? 0} ok, ${j.counts.failed ?? 0} failed of ${j.counts.total ?? j.selected}`,
        time(j.created_us), j.spec.started_by])));
  };
  fill(main, h('h1', {}, 'Jobs'), body);
  await load();
  const live = stream('job.finished,job.progress', () => load().catch(() => {}));
  onClose(() => live.close());
}

async function job({ main, id, onClose }) {
  const head = h('div');
  const results = h('div');
  const load = async () => {
    const [record, page] = await Promise.all([api('GET', `/jobs/${pathId(id)}`),
      api('GET', `/jobs/${pathId(id)}/results?limit=500`)]);
    const c = record.counts || {};
    fill(head, h('p', {}, 'State: ', badge(record.state), ` · ${c.ok ?? 0} ok, `,
      `${c.failed ?? 0} failed, ${c.running ?? 0} running, ${c.pending ?? 0} pending of ${c.total ?? 0}`),
    h('p', { class: 'muted' }, `${record.spec.kind} on ${record.spec.target} by ${record.spec.started_by}, ${time(record.created_us)}`));
    fill(results, table(['Device', 'Status', 'Time', 'Output or error'],
      page.items.map((r) => [r.device, badge(r.status), `${r.duration_ms} ms`,
        r.error ? h('span', { class: 'bad' }, r.error) : output(r.output)])));
  };
  fill(main, h('h1', {}, `Job ${id}`), head, h('h2', {}, 'Devices'), results);
  await load();
  const live = stream('job.device,job.progress,job.finished', (event) => {
    if ((event.body || {}).job === id || (event.body || {}).id === id) load().catch(() => {});
  });
  onClose(() => live.close());
}

// --- runs: start one with params, the list, and one run's steps live
function paramInput(param) {
  const id = 'param-' + param.name;
  const attrs = { id, name: param.name, required: param.required || undefined };
  const type = param.type || 'string';
  const input = type === 'bool' || type === 'boolean'
    ? h('select', attrs, h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'))
    : h('input', { ...attrs, type: type === 'int' || type === 'number' ? 'number' : 'text',
      value: param.default !== undefined && param.default !== '' ? String(param.default) : undefined });
  return h('div', {}, h('label', { for: id }, `${param.name}${param.required ? ' *' : ''}`), input,
    param.description ? h('div', { class: 'muted' }, param.description) : null);
}

function paramValue(param, text) {
  const type = param.type || 'string';
  if (type === 'int' || type === 'number') return Number(text);
  if (type === 'bool' || type === 'boolean') return text === 'true';
  if (type === 'list') return text.split(',').map((s) => s.trim()).filter(Boolean);
  return text;
}

async function runs({ main, args, onClose }) {
  if (args[0]) return run({ main, id: args[0], onClose });
  const runbooks = (await api('GET', '/runbooks?limit=500')).items.filter((r) => !r.error);
  const choose = h('select', { id: 'runbook' },
    runbooks.map((r) => h('option', { value: r.name }, r.name)));
  const fields = h('div');
  const problem = h('div');
  const showParams = () => {
    const chosen = runbooks.find((r) => r.name === choose.value);
    fill(fields, h('p', { class: 'muted' }, chosen?.description || ''),
      (chosen?.params || []).map(paramInput));
  };
  choose.addEventListener('change', showParams);
  showParams();
  const form = h('form', { 'aria-labelledby': 'start-title', onsubmit: async (event) => {
    event.preventDefault();
    fill(problem);
    const chosen = runbooks.find((r) => r.name === choose.value);
    const params = {};
    for (const param of chosen.params || []) {
      const text = form.querySelector(`[name="${CSS.escape(param.name)}"]`).value;
      if (text !== '' || param.required) params[param.name] = paramValue(param, text);
    }
    try {
      const started = await api('POST', `/runbooks/${pathId(chosen.name)}/runs`, { params });
      location.hash = `#/runs/${pathId(started.id)}`;
    } catch (error) {
      fill(problem, errorBox(error));
    }
  } },
  h('h2', { id: 'start-title' }, 'Start a run'),
  h('label', { for: 'runbook' }, 'Runbook'), choose, fields,
  h('button', { type: 'submit', id: 'start' }, 'Start'), problem);
  const list = h('div');
  const load = async () => {
    const page = await api('GET', '/runs?limit=50');
    fill(list, table(['Run', 'Runbook', 'State', 'Started', 'By'],
      page.items.map((r) => [h('a', { href: `#/runs/${pathId(r.id)}` }, r.id), r.runbook,
        badge(r.state), time(r.started_us), r.started_by])));
  };
  fill(main, h('h1', {}, 'Runs'), form, h('h2', {}, 'Latest runs'), list);
  await load();
  const live = stream('run.started,run.finished', () => load().catch(() => {}));
  onClose(() => live.close());
}

// One step's row, from a run.step event or an entry of GET /runs/{id}/steps (whose end is an
// entry of its own, naming the step it ends).
function stepOf(item) {
  const ended = item.type === 'step_end';
  const finished = item.state === 'ok' || item.state === 'failed' || ended ||
    item.finished_us !== undefined;
  let state = item.state && item.state !== 'started' ? item.state : 'started';
  if (finished && state === 'started') state = item.ok === false || item.error ? 'failed' : 'ok';
  return { key: ended ? item.step : item.key, summary: item.summary || item.name || item.key,
    state, error: item.error, duration: item.duration_ms };
}

async function run({ main, id, onClose }) {
  const head = h('div');
  const steps = h('ol', { class: 'steps', id: 'steps', 'aria-live': 'polite' });
  const logs = h('pre', { id: 'logs' });
  const chain = h('div');
  const rows = new Map();
  const showStep = (item) => {
    const step = stepOf(item);
    let row = rows.get(step.key);
    if (!row) {
      row = { state: '', element: h('li', { 'data-key': step.key }) };
      rows.set(step.key, row);
      steps.append(row.element);
    }
    if (row.state && row.state !== 'started' && step.state === 'started') return;  // never back
    row.state = step.state;
    fill(row.element, h('strong', {}, step.summary), ' ',
      step.state === 'started' ? h('span', { class: 'muted' }, 'started') : badge(step.state),
      step.duration !== undefined ? h('span', { class: 'muted' }, ` ${step.duration} ms`) : null,
      step.error ? h('span', { class: 'bad' }, ' ' + (step.error.message || JSON.stringify(step.error))) : null);
  };
  const loadRun = async () => {
    const record = await api('GET', `/runs/${pathId(id)}`);
    fill(head,
      h('p', {}, 'State: ', h('span', { id: 'run-state', class: stateClass(record.state) }, record.state)),
      h('p', { class: 'muted' }, `${record.runbook}, started by ${record.started_by} ${time(record.started_us)}`),
      h('h2', {}, 'Parameters'), h('pre', {}, JSON.stringify(record.params || {}, null, 2)),
      record.result !== undefined && record.result !== null
        ? [h('h2', {}, 'Result'), h('pre', { id: 'run-result' }, JSON.stringify(record.result, null, 2))] : null,
      record.error ? [h('h2', {}, 'Error'), h('p', { class: 'error' }, typeof record.error === 'string' ? record.error : JSON.stringify(record.error))] : null);
    if (record.chain) {
      const events = await all(`/events?chain=${encodeURIComponent(record.chain)}`, 500);
      fill(chain, h('h2', {}, 'Causal chain'),
        h('ol', {}, events.map((e) => h('li', {}, `${time(e.ts)} ${e.topic}`))));
    }
  };
  fill(main, h('h1', {}, `Run ${id}`), head, h('h2', {}, 'Steps'), steps,
    h('h2', {}, 'Log'), logs, chain);
  // The journal's steps (merged by key: a step shows once, and never goes back to started).
  // Logs are read only the first time; later they come live.
  let logsRead = false;
  const loadSteps = async () => {
    const withLogs = !logsRead;
    logsRead = true;
    for (const item of (await api('GET', `/runs/${pathId(id)}/steps?limit=500`)).items) {
      if (item.type === 'log') { if (withLogs) logs.append(`${item.level || ''} ${item.message || ''}\n`); }
      else if (item.key || item.step) showStep(item);
    }
  };
  // The stream first, then what happened before it: a step in both shows once. A step that
  // ended while the stream was opening, before the journal had it, is filled in when the run
  // next asks for approval or ends.
  const live = stream('run.*', (event) => {
    const body = event.body || {};
    if (body.run !== id && body.id !== id) return;
    if (event.topic === 'run.step') showStep(body);
    if (event.topic === 'run.log') logs.append(`${body.level || ''} ${body.message || ''}\n`);
    if (event.topic === 'run.finished' || event.topic === 'run.approval' ||
        event.topic === 'run.approval.decided') {
      loadRun().catch(() => {});
      loadSteps().catch(() => {});
    }
  });
  onClose(() => live.close());
  await new Promise((resolve) => { live.onopen = resolve; setTimeout(resolve, 3000); });
  // The steps before the record: once the state shows, what led to it shows too.
  await loadSteps();
  await loadRun();
}

// --- approvals: the exact diff, approve or deny with a reason
async function approvals({ main, args, refreshApprovalCount }) {
  if (args[0]) return approval({ main, id: args[0], refreshApprovalCount });
  const page = await api('GET', '/approvals?limit=500');
  fill(main, h('h1', {}, 'Approvals'),
    page.items.length === 0 ? h('p', {}, 'Nothing is waiting for a decision.')
      : table(['Approval', 'Device', 'Runbook', 'Started by', 'Asked', 'Expires'],
        page.items.map((a) => [h('a', { href: `#/approvals/${pathId(a.id)}` }, a.message || a.id),
          a.device || '-', a.runbook, a.started_by, time(a.requested_us), time(a.expires_us)])));
}

async function approval({ main, id, refreshApprovalCount }) {
  const a = await api('GET', `/approvals/${pathId(id)}`);
  const reason = h('textarea', { id: 'reason', 'aria-describedby': 'reason-help' });
  const problem = h('div', { id: 'decision' });
  const decide = async (verb) => {
    fill(problem);
    if (verb === 'deny' && !reason.value.trim()) {
      fill(problem, errorBox(new Error('Say why you deny it.')));
      reason.focus();
      return;
    }
    try {
      await api('POST', `/approvals/${pathId(id)}/${verb}`, { comment: reason.value.trim() });
      refreshApprovalCount();
      location.hash = `#/runs/${pathId(id.split('/')[0])}`;
    } catch (error) {
      fill(problem, errorBox(error));
    }
  };
  fill(main, h('h1', {}, 'Approval'),
    h('p', { id: 'approval-message' }, a.message || ''),
    table(['', ''], [['Runbook', a.runbook], ['Parameters', JSON.stringify(a.params || {})],
      ['Started by', a.started_by], ['Device', a.device || '-'], ['Asked', time(a.requested_us)],
      ['Expires', time(a.expires_us)], ['Diff SHA-256', h('code', {}, a.diff_sha256 || '-')]]),
    a.diff !== undefined ? [h('h2', {}, 'The exact diff'), h('div', { id: 'approval-diff' }, unified(a.diff))] : null,
    h('label', { for: 'reason' }, 'Reason'), reason,
    h('p', { id: 'reason-help', class: 'muted' },
      'Kept with the decision. A deny needs one. Whoever started the run may not approve it.'),
    h('button', { type: 'button', id: 'approve', onclick: () => decide('approve') }, 'Approve'),
    h('button', { type: 'button', id: 'deny', class: 'danger', onclick: () => decide('deny') }, 'Deny'),
    problem);
}

// --- events: live tail with a topic filter
async function events({ main, onClose }) {
  const topic = h('input', { id: 'topic', value: '', placeholder: 'run.*,job.>' });
  const rows = h('tbody', { id: 'event-rows' });
  let live = null;
  const start = () => {
    if (live) live.close();
    fill(rows);
    live = stream(topic.value.trim(), (e) => {
      rows.prepend(h('tr', {}, h('td', {}, time(e.ts)), h('td', {}, e.topic), h('td', {}, e.src),
        h('td', {}, h('code', {}, JSON.stringify(e.body)))));
      while (rows.children.length > 200) rows.lastChild.remove();
    });
  };
  fill(main, h('h1', {}, 'Events'),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); start(); } },
      h('div', {}, h('label', { for: 'topic' }, 'Topics (patterns, comma-separated; empty for all)'), topic),
      h('button', { type: 'submit' }, 'Follow')),
    h('table', {}, h('thead', {}, h('tr', {}, ['Time', 'Topic', 'From', 'Body'].map((t) => h('th', { scope: 'col' }, t)))), rows));
  start();
  onClose(() => live && live.close());
}

// --- config history: versions and a side-by-side diff
async function configs({ main, args }) {
  if (!args[0]) {
    const devices = await all('/configs');
    fill(main, h('h1', {}, 'Config history'),
      devices.length === 0 ? h('p', {}, 'No device has been backed up yet.')
        : table(['Device', 'Last backup', 'Version'], devices.map((d) => [
          h('a', { href: `#/configs/${pathId(d.device)}` }, d.device), time(d.checked_us),
          d.ok ? `v${d.version}` : h('span', { class: 'bad' }, d.error || 'failed')])));
    return;
  }
  const device = args[0];
  const versions = (await api('GET', `/devices/${pathId(device)}/configs?limit=100`)).items;
  const from = h('select', { id: 'from' }, versions.map((v) => h('option', { value: v.version }, `v${v.version} ${time(v.time_us)}`)));
  const to = h('select', { id: 'to' }, versions.map((v) => h('option', { value: v.version }, `v${v.version} ${time(v.time_us)}`)));
  if (versions.length > 1) from.value = String(versions[1].version);
  const shown = h('div', { id: 'config-diff' });
  const compare = async () => {
    try {
      const diff = await api('GET', `/devices/${pathId(device)}/diff?from=${from.value}&to=${to.value}`);
      fill(shown, h('p', {}, `+${diff.added} −${diff.removed}`),
        diff.diff ? sideBySide(diff.diff) : h('p', {}, 'The versions are the same.'));
    } catch (error) {
      fill(shown, errorBox(error));
    }
  };
  fill(main, h('h1', {}, `Config history of ${device}`),
    table(['Version', 'Archived', 'By', 'Why', 'Lines', 'Change'], versions.map((v) => [
      `v${v.version}`, time(v.time_us), v.by, v.why || '', v.lines, `+${v.added} −${v.removed}`])),
    h('h2', {}, 'Compare'),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); compare(); } },
      h('div', {}, h('label', { for: 'from' }, 'From'), from),
      h('div', {}, h('label', { for: 'to' }, 'To'), to),
      h('button', { type: 'submit', id: 'compare' }, 'Compare')),
    shown);
  if (versions.length > 1) await compare();
}

// --- compliance: scores and violations
async function compliance({ main, args }) {
  const policies = await all('/compliance/policies');
  if (!args[0]) {
    const ran = new Set((await all('/compliance/runs', 500)).map((r) => r.policy));
    const rows = [];
    for (const p of policies) {
      const report = ran.has(p.name)
        ? await api('GET', `/compliance/policies/${pathId(p.name)}/report`) : null;
      rows.push([h('a', { href: `#/compliance/${pathId(p.name)}` }, p.name), p.description || '',
        report ? `${Math.round(report.score)}%` : 'not run', report ? time(report.run?.finished_us) : '-']);
    }
    fill(main, h('h1', {}, 'Compliance'),
      policies.length === 0 ? h('p', {}, 'No policies are loaded.') : table(['Policy', 'About', 'Score', 'Run'], rows));
    return;
  }
  const report = await api('GET', `/compliance/policies/${pathId(args[0])}/report`);
  fill(main, h('h1', {}, `Compliance: ${args[0]}`),
    h('p', {}, `Score ${Math.round(report.score)}%`),
    h('h2', {}, 'Devices'),
    table(['Device', 'Site', 'Score', 'Failing'], (report.devices || []).map((d) => [d.device, d.site || '',
      h('span', { class: d.fail ? 'bad' : 'ok' }, `${Math.round(d.score)}%`), (d.failing || []).join(', ')])),
    h('h2', {}, 'Rules'),
    table(['Rule', 'Severity', 'Pass', 'Fail', 'Error'], (report.rules || []).map((r) => [r.rule, r.severity, r.pass, r.fail, r.error])));
}

// --- schedules
async function schedules({ main, setStatus }) {
  const page = await api('GET', '/schedules?limit=500');
  const act = (name, verb) => async () => {
    try {
      await api('POST', `/schedules/${pathId(name)}/${verb}`);
      setStatus(`${name}: ${verb === 'run' ? 'fired' : verb + 'd'}`);
      await schedules({ main, setStatus });
    } catch (error) {
      setStatus(error.message);
    }
  };
  fill(main, h('h1', {}, 'Schedules'),
    page.items.length === 0 ? h('p', {}, 'No schedules.')
      : table(['Schedule', 'Timing', 'Starts', 'State', 'Next', 'Last', ''], page.items.map((s) => [
        s.name, s.timing, s.service, s.paused ? h('span', { class: 'bad' }, 'paused') : (s.running ? 'running' : 'waiting'),
        time(s.next), s.last ? `${time(s.last.fired_us)} ${s.last.outcome || ''}` : '-',
        h('span', {},
          h('button', { type: 'button', class: 'secondary', onclick: act(s.name, s.paused ? 'resume' : 'pause') }, s.paused ? 'Resume' : 'Pause'),
          h('button', { type: 'button', class: 'secondary', onclick: act(s.name, 'run') }, 'Run now'))])));
}

export const pages = { fleet, jobs, runs, approvals, events, configs, compliance, schedules };
