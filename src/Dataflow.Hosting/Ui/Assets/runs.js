// The runs page: every run of the store, newest first, refreshed every few seconds.
import { get } from './api.js';
import { el, replace, count, duration, time, headerRow } from './dom.js';

const pageSize = 50;

export class RunsPage {
  constructor(main, store) {
    this.main = main;
    this.store = store;
    this.offset = 0;
    this.timer = null;
    this.controller = new AbortController();
  }

  start() {
    replace(this.main, el('h1', {}, 'Runs'), el('p', { id: 'runs-status', className: 'muted' }, 'Loading…'));
    this.load();
  }

  stop() {
    clearTimeout(this.timer);
    this.controller.abort();
  }

  async load() {
    try {
      const data = await get(`/api/runs?offset=${this.offset}&limit=${pageSize}`, this.controller.signal);
      this.render(data);
      document.getElementById('connection').textContent = '';
    } catch (error) {
      if (error.name === 'AbortError') return;
      document.getElementById('connection').textContent = `· ${error.message}`;
    }
    this.timer = setTimeout(() => this.load(), 3000);
  }

  render(data) {
    const rows = data.runs.map(run => el('tr', { 'data-run-id': run.runId, className: `state-${run.state}` },
      el('td', {}, el('a', { href: `#/runs/${encodeURIComponent(run.runId)}`, className: 'run-link' }, run.runId)),
      el('td', { className: 'job' }, run.job ?? '–'),
      el('td', {}, el('span', { className: `badge state ${run.state}` }, run.state)),
      el('td', {}, time(run.createdAt)),
      el('td', { className: 'num duration' }, duration(run.wallMs ?? this.runningFor(run))),
      el('td', { className: 'num tasks' }, run.tasks === null ? '–' : `${count(run.tasksCommitted)} / ${count(run.tasks)}`),
      el('td', { className: 'num' }, run.tasksCached ? count(run.tasksCached) : ''),
      el('td', { className: 'output' }, run.output ?? (run.error ? el('span', { className: 'error' }, run.error) : run.damage ?? ''))));
    const table = el('table', { id: 'runs-table' },
      el('thead', {}, headerRow(['Run', 'Job', 'State', 'Started', 'Duration', 'Tasks', 'Cached', 'Output or error'], ['Duration', 'Tasks', 'Cached'])),
      el('tbody', {}, rows));
    const pager = el('p', { className: 'pager' },
      this.offset > 0 ? el('button', { onclick: () => { this.offset = Math.max(0, this.offset - pageSize); this.reload(); } }, 'Newer') : null,
      ` ${data.total === 0 ? 0 : this.offset + 1}–${this.offset + data.runs.length} of ${count(data.total)} runs `,
      this.offset + pageSize < data.total ? el('button', { onclick: () => { this.offset += pageSize; this.reload(); } }, 'Older') : null);
    replace(this.main, el('h1', {}, 'Runs'),
      data.total === 0 ? el('p', { id: 'runs-status' }, `No runs in ${this.store.location} yet.`) : [table, pager]);
  }

  /** How long a running run has run so far (null for other states: they have their wall time, or none). */
  runningFor(run) {
    if (run.state !== 'running' || !run.createdAt) return null;
    return Math.max(0, Date.now() + (this.store.clockSkewMs || 0) - Date.parse(run.createdAt));
  }

  reload() {
    clearTimeout(this.timer);
    this.load();
  }
}
