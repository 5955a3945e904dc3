// A stage's tasks a page at a time (the server filters and pages: the page never holds more than one page), and one
// task's inputs and outputs on demand.
import { get } from './api.js';
import { el, replace, bytes, count, duration, headerRow } from './dom.js';

const pageSize = 100;

export class TaskPager {
  constructor(runId, signal) {
    this.runId = runId;
    this.signal = signal;
    this.stage = 0;
    this.state = 'all';
    this.offset = 0;
    this.loaded = null;
    this.stageSelect = el('select', { id: 'task-stage', onchange: () => { this.stage = Number(this.stageSelect.value); this.offset = 0; this.load(); } });
    this.stateSelect = el('select', { id: 'task-state', onchange: () => { this.state = this.stateSelect.value; this.offset = 0; this.load(); } },
      ['all', 'committed', 'cached', 'failed', 'pending'].map(s => el('option', { value: s }, s)));
    this.table = el('div', { id: 'tasks-table' });
    this.detail = el('div', { id: 'task-detail' });
    this.position = el('span', { id: 'tasks-position' });
    this.previous = el('button', { id: 'tasks-previous', disabled: true, onclick: () => { this.offset = Math.max(0, this.offset - pageSize); this.load(); } }, 'Previous');
    this.next = el('button', { id: 'tasks-next', disabled: true, onclick: () => { if (this.offset + pageSize < (this.matching ?? 0)) { this.offset += pageSize; this.load(); } } }, 'Next');
    this.element = el('div', { id: 'tasks' },
      el('p', { className: 'controls' }, 'Stage ', this.stageSelect, ' state ', this.stateSelect, ' ',
        this.previous, ' ', this.position, ' ', this.next),
      this.table, this.detail);
  }

  stop() {}

  /** Called with each new view of the run: keeps the stage list current, and the page while the run runs. */
  update(run) {
    const names = run.stages.map(s => `${s.index}: ${s.name} (${count(s.tasks)})`);
    if (this.stageSelect.options.length !== names.length) {
      replace(this.stageSelect, names.map((name, i) => el('option', { value: i }, name)));
      this.stageSelect.value = String(this.stage);
    }
    const stamp = `${run.tasksCommitted}/${run.recordsRead}`;
    if (this.loaded !== stamp) {
      this.loaded = stamp;
      this.load();
    }
  }

  async load() {
    try {
      const page = await get(`/api/runs/${encodeURIComponent(this.runId)}/tasks?stage=${this.stage}&state=${this.state}&offset=${this.offset}&limit=${pageSize}`, this.signal);
      this.matching = page.matching;
      this.previous.disabled = page.offset === 0;
      this.next.disabled = page.offset + page.items.length >= page.matching;
      // Bytes are those of the attempt that committed: a failed or pending task has none to show.
      const done = task => task.state === 'committed' || task.state === 'cached';
      replace(this.position, page.matching === 0 ? 'no tasks' : `${count(page.offset + 1)}–${count(page.offset + page.items.length)} of ${count(page.matching)}`);
      replace(this.table, el('table', {},
        el('thead', {}, headerRow(['Task', 'State', 'Attempt', 'Worker', 'Started', 'Took', 'Read', 'Written'], ['Task', 'Attempt', 'Started', 'Took', 'Read', 'Written'])),
        el('tbody', {}, page.items.map(task => el('tr', { 'data-task': task.index, className: `task state-${task.state}`, onclick: () => this.show(task.index) },
          el('td', { className: 'num' }, task.index),
          el('td', {}, task.state),
          el('td', { className: 'num' }, task.attempt ?? ''),
          el('td', {}, task.worker ?? ''),
          el('td', { className: 'num' }, task.startMs === undefined ? '' : duration(task.startMs)),
          el('td', { className: 'num' }, task.durationMs === undefined ? '' : duration(task.durationMs)),
          el('td', { className: 'num' }, done(task) ? bytes(task.bytesRead) : ''),
          el('td', { className: 'num' }, done(task) ? bytes(task.bytesWritten) : ''))))));
    } catch (error) {
      if (error.name !== 'AbortError') replace(this.table, el('p', { className: 'error' }, error.message));
    }
  }

  async show(index) {
    try {
      const task = await get(`/api/runs/${encodeURIComponent(this.runId)}/tasks/${this.stage}/${index}`, this.signal);
      replace(this.detail, el('h3', {}, `Task ${task.stage}/${task.index} of ${task.stageName} (${task.operator}): ${task.state}`),
        el('p', {}, 'Inputs:'), el('ul', { className: 'inputs' }, task.inputs.map(i => el('li', { className: 'input-key' }, i))),
        el('p', {}, `Outputs: ${task.outputNames.join(', ')}`));
    } catch (error) {
      if (error.name !== 'AbortError') replace(this.detail, el('p', { className: 'error' }, error.message));
    }
  }
}
