// A unified diff (diff -u, as configs.diff and approvals give it) shown whole, or side by side:
// removed lines on the left, added on the right, unchanged on both.
import { h } from './api.js';

export function unified(text) {
  return h('pre', { class: 'unified' }, (text || '').split('\n').map((line) => {
    const kind = line.startsWith('+') && !line.startsWith('+++') ? 'add'
      : line.startsWith('-') && !line.startsWith('---') ? 'del' : null;
    return kind ? h('span', { class: kind }, line) : line + '\n';
  }));
}

export function sideBySide(text) {
  const cells = [];
  let removed = [];
  let added = [];
  const flush = () => {
    const rows = Math.max(removed.length, added.length);
    for (let i = 0; i < rows; i++) {
      cells.push(h('div', { class: i < removed.length ? 'del' : 'gap' }, removed[i] ?? ''));
      cells.push(h('div', { class: i < added.length ? 'add' : 'gap' }, added[i] ?? ''));
    }
    removed = [];
    added = [];
  };
  for (const line of (text || '').split('\n')) {
    if (line.startsWith('---') || line.startsWith('+++')) continue;
    if (line.startsWith('@@')) {
      flush();
      cells.push(h('div', { class: 'gap' }, line), h('div', { class: 'gap' }, line));
    } else if (line.startsWith('-')) {
      removed.push(line.slice(1));
    } else if (line.startsWith('+')) {
      added.push(line.slice(1));
    } else {
      flush();
      const same = line.startsWith(' ') ? line.slice(1) : line;
      cells.push(h('div', {}, same), h('div', {}, same));
    }
  }
  flush();
  return h('div', { class: 'diff', role: 'table', 'aria-label': 'side-by-side diff' },
    h('div', { class: 'gap', role: 'columnheader' }, 'before'),
    h('div', { class: 'gap', role: 'columnheader' }, 'after'), cells);
}
