// The dashboard: log in with a token (the server keeps a session cookie), then pages by the
// hash (#/runs/<id>); each page renders into <main> and may hold live streams, closed when
// another page opens.
import { api, fill, h, session, errorBox } from './api.js';
import { pages } from './pages.js';

const main = document.getElementById('main');
let closers = [];

function setStatus(text) {
  document.getElementById('status').textContent = text || '';
}

async function refreshApprovalCount() {
  try {
    const page = await api('GET', '/approvals?limit=500');
    const badge = document.getElementById('approval-count');
    badge.textContent = String(page.items.length);
    badge.hidden = page.items.length === 0;
  } catch { /* shown on the approvals page itself */ }
}

function loginPage() {
  const token = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true,
    'aria-describedby': 'token-help' });
  const problem = h('div');
  const form = h('form', { 'aria-labelledby': 'login-title', onsubmit: async (event) => {
    event.preventDefault();
    fill(problem);
    try {
      const answer = await api('POST', '/login', { token: token.value.trim() });
      Object.assign(session, answer);
      token.value = '';
      showSession();
      location.hash = '#/fleet';
    } catch (error) {
      fill(problem, errorBox(error));
    }
  } },
  h('h1', { id: 'login-title' }, 'Log in'),
  h('label', { for: 'token' }, 'API token'),
  token,
  h('p', { id: 'token-help', class: 'muted' },
    'A token from `nauto token create`. It is sent once; the browser keeps only a session.'),
  h('button', { type: 'submit' }, 'Log in'), problem);
  fill(main, form);
  token.focus();
}

function showSession() {
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  document.getElementById('who').textContent = `${session.principal} (${session.roles.join(', ')})`;
  refreshApprovalCount();
}

async function route() {
  for (const close of closers) close();
  closers = [];
  setStatus('');
  if (!session.principal) return loginPage();
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const page = pages[name] || pages.fleet;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === '#/' + (pages[name] ? name : 'fleet')) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
  fill(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await page({ main, args: rest.map(decodeURIComponent), onClose: (f) => closers.push(f),
      setStatus, refreshApprovalCount });
  } catch (error) {
    fill(main, errorBox(error));
  }
  main.focus();
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api('POST', '/logout'); } catch { /* the session may have ended already */ }
  Object.assign(session, { principal: '', roles: [], csrf: '' });
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  location.hash = '#/login';
  route();
});

window.addEventListener('hashchange', route);
(async () => {
  const current = await api('GET', '/session');
  if (current.principal) {
    Object.assign(session, current);
    showSession();
  }
  route();
})();
