// The dashboard's only ways out: the REST API (fetch, with the session cookie and its CSRF
// header) and the event stream (EventSource). DOM is built with h(), never from HTML strings,
// so nothing a device or a user wrote is ever parsed as markup.

export const session = { principal: '', roles: [], csrf: '' };

export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error ? body.error : { code: String(status), message: String(body) };
    super(error.message);
    this.status = status;
    this.code = error.code;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const response = await fetch('/api/v1' + path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Every page of a list route, up to `max` items.
export async function all(path, max = 2000) {
  const items = [];
  let cursor = null;
  do {
    const join = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${join}limit=500${cursor ? '&cursor=' + cursor : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

// Live events whose topic matches one of `topics` (comma-separated patterns).
export function stream(topics, onEvent) {
  const source = new EventSource('/api/v1/events/stream?topic=' + encodeURIComponent(topics));
  source.onmessage = (message) => onEvent(JSON.parse(message.data));
  return source;
}

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else if (key === 'text') element.textContent = value;
    else element.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// Replaces an element's children; arrays are flattened and null or false left out, as in h().
export function fill(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return element;
}

export function time(us) {
  if (!us) return '-';
  if (typeof us !== 'number') return String(us);
  const date = new Date(us / 1000);
  return Number.isNaN(date.getTime()) ? '-'
    : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function table(headers, rows) {
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell))))));
}

export function errorBox(error) {
  return h('p', { class: 'error', role: 'alert' }, error.message || String(error));
}

export function pathId(id) {
  return encodeURIComponent(id);
}
