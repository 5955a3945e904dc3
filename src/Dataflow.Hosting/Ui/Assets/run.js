// One run's page: state, stages, a timeline that grows while the run goes on, failed attempts, tasks a page at a
// time, and actions. It asks the server what changed every second while the run runs (the server answers
// {"unchanged":true} for an ended run that did not change), and never reloads.
import { get, act } from './api.js';
import { el, replace, bytes, count, duration, time, stageColour, headerRow } from './dom.js';
import { drawTimeline } from './timeline.js';
import { TaskPager } from './tasks.js';

export class RunPage {
  constructor(main, runId, store) {
    this.main = main;
    this.runId = runId;
    this.store = store;
    this.version = null;
    this.data = null;
    this.timer = null;
    this.controller = new AbortController();
    this.message = el('p', { id: 'action-message', className: 'muted' });
    this.onResize = () => {
      if (this.data && this.canvas) drawTimeline(this.canvas, this.data.timeline, this.data.run.stages);
    };
  }

  start() {
    replace(this.main, el('p', { className: 'muted' }, 'Loading…'));
    window.addEventListener('resize', this.onResize);
    this.load();
  }

  stop() {
    window.removeEventListener('resize', this.onResize);
    clearTimeout(this.timer);
    this.controller.abort();
    this.pager?.stop();
  }

  async load() {
    let delay = 5000;
    try {
      const since = this.version === null ? '' : `&since=${this.version}`;
      const buckets = Math.max(30, Math.min(300, Math.floor((this.main.clientWidth - 180) / 5)));
      const data = await get(`/api/runs/${encodeURIComponent(this.runId)}?buckets=${buckets}${since}`, this.controller.signal);
      document.getElementById('connection').textContent = '';
      if (!data.unchanged) {
        this.version = data.version;
        this.data = data;
        this.render();
      }
      const run = this.data.run;
      // While the server is still reading the run's records (a large run's first read), ask again at once: each
      // answer is bounded by the server's read budget.
      delay = run.recordsPending > 0 ? 50 : run.state === 'running' || run.pendingAction ? 1000 : 5000;
    } catch (error) {
      if (error.name === 'AbortError') return;
      document.getElementById('connection').textContent = `· ${error.message}`;
      if (this.data === null) replace(this.main, el('h1', {}, this.runId), el('p', { className: 'error', id: 'run-missing' }, error.message));
    }
    this.timer = setTimeout(() => this.load(), delay);
  }

  render() {
    const { run, summary, timeline, failures } = this.data;
    if (!this.skeleton) this.build();
    replace(this.header, el('h1', {}, `Run ${run.runId}`, ' ', el('span', { id: 'run-state', className: `badge state ${run.state}` }, run.state)), this.actions(run));
    replace(this.facts, this.factList(run));
    replace(this.summary, summary ? this.summaryList(run, summary) : el('p', { className: 'muted' }, run.state === 'running' ? 'The summary is written when the run ends.' : 'No summary: the run did not end (resume it).'));
    replace(this.stages, this.stageTable(run));
    drawTimeline(this.canvas, timeline, run.stages);
    replace(this.legend, run.stages.map(s => el('span', { className: 'legend' }, el('i', { style: null, 'data-stage': s.index }), s.name)));
    for (const swatch of this.legend.querySelectorAll('i[data-stage]')) swatch.style.background = stageColour(Number(swatch.dataset.stage));
    replace(this.failures, this.failureList(failures, run));
    this.pager.update(run);
  }

  build() {
    this.skeleton = true;
    this.header = el('div', { className: 'run-header' });
    this.facts = el('dl', { id: 'run-facts', className: 'facts' });
    this.summary = el('div', { id: 'summary' });
    this.stages = el('div', { id: 'stages' });
    this.canvas = el('canvas', { id: 'timeline', height: 120 });
    this.legend = el('p', { className: 'legend-row' });
    this.failures = el('div', { id: 'failures' });
    this.pager = new TaskPager(this.runId, this.controller.signal);
    replace(this.main,
      el('p', {}, el('a', { href: '#/' }, '← All runs')),
      this.header, this.message, this.facts,
      el('h2', {}, 'Stages'), this.stages,
      el('h2', {}, 'Timeline'), el('p', { className: 'muted' }, 'Each row is a worker; each column a slice of the run; the colour is the stage that ran most, the strength how many tasks ran. The bars below count the tasks that committed.'),
      this.canvas, this.legend,
      el('h2', {}, 'Failed attempts'), this.failures,
      el('h2', {}, 'Summary'), this.summary,
      el('h2', {}, 'Tasks'), this.pager.element);
  }

  actions(run) {
    if (!this.store.actions) return null;
    const button = (action, label, enabled, title) => el('button', {
      id: `action-${action}`, disabled: !enabled, title,
      onclick: async () => {
        if (!confirm(`${label} run ${run.runId}?`)) return;
        try {
          const result = await act(run.runId, action);
          this.message.textContent = result.message;
          this.message.className = '';
        } catch (error) {
          this.message.textContent = error.message;
          this.message.className = 'error';
        }
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.load(), 300);
      },
    }, label);
    const ended = run.state !== 'running';
    return el('span', { className: 'actions' },
      button('cancel', 'Cancel', run.state === 'running', 'Ask the run\'s driver to cancel it (through its lease)'),
      button('resume', 'Resume', this.store.canResume && ['interrupted', 'failed', 'cancelled'].includes(run.state) && !run.pendingAction, 'Resume the run in the ui command\'s process'),
      button('gc', 'Clean up', ended, 'Delete the run\'s intermediate data and abort its incomplete uploads (gc)'));
  }

  factList(run) {
    const progress = run.tasks ? Math.floor(100 * run.tasksCommitted / run.tasks) : 0;
    const facts = [
      ['Job', run.job ?? '–'],
      ['Tasks', el('span', { id: 'run-progress' }, `${count(run.tasksCommitted)} / ${count(run.tasks)} committed (${progress} %)`)],
      ['Planned', time(run.createdAt)],
      ['Elapsed', duration(run.elapsedMs)],
      run.phase ? ['Driver is', run.phase] : null,
      ['Executor', run.executor ?? '–'],
      ['Inputs', count(run.inputs)],
      ['Task cache', run.cache ?? '–'],
      ['Driver', run.lease ? `${run.lease.holder}${run.lease.live ? '' : ' (gone)'}${run.lease.workflow ? ` · Argo Workflow ${run.lease.workflow}` : ''}` : '–'],
      ['Arguments', run.arguments ? run.arguments.join(' ') : '–'],
      ['Dataflow', run.dataflowVersion ?? '–'],
    ];
    if (run.damage) facts.unshift(['Damage', el('span', { className: 'error' }, run.damage)]);
    if (run.recordsPending > 0) facts.push(['Records', `${count(run.recordsRead)} commit records read, ${count(run.recordsPending)} to go: the timeline and tasks fill in as they are read`]);
    if (run.pendingAction) facts.push(['Action', `${run.pendingAction} under way in the ui command`]);
    else if (run.lastAction) facts.push(['Action', run.lastAction]);
    return facts.filter(f => f).map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]);
  }

  summaryList(run, summary) {
    // An output is there to download once the run succeeded (a failed or cancelled run published nothing).
    const outputs = summary.status !== 'succeeded' ? [] : run.outputs.map((key, i) => el('li', {}, el('a', { href: `/runs/${encodeURIComponent(run.runId)}/outputs/${i}`, className: 'output-link' }, key)));
    return [
      el('dl', { className: 'facts' },
        el('dt', {}, 'Status'), el('dd', { id: 'summary-status' }, summary.partial ? `${summary.status} (partial)` : summary.status),
        summary.failedInputs ? [el('dt', {}, 'Failed inputs'), el('dd', { id: 'failed-inputs', className: 'error' }, `${count(summary.failedInputs.length)} left out of the output (--max-failed-inputs): ${summary.failedInputs.join(', ')}`)] : null,
        summary.error ? [el('dt', {}, 'Error'), el('dd', { id: 'run-error', className: 'error' }, summary.error)] : null,
        el('dt', {}, 'Wall time'), el('dd', {}, duration(summary.wallMs)),
        el('dt', {}, 'Tasks run'), el('dd', {}, `${count(summary.tasksRun)} (${count(summary.tasksSkipped)} committed before, ${count(summary.tasksCached ?? 0)} from the cache)`),
        el('dt', {}, 'Attempts'), el('dd', {}, `${count(summary.attempts)} (${count(summary.retries)} retries, ${count(summary.failed)} failed)`),
        el('dt', {}, 'Bytes'), el('dd', {}, `${bytes(summary.bytesRead)} read, ${bytes(summary.bytesWritten)} written`),
        el('dt', {}, 'Output'), el('dd', {}, summary.output ?? '–'),
        el('dt', {}, 'Verified'), el('dd', {}, summary.verified ? 'yes' : 'no')),
      outputs.length ? [el('p', {}, 'Outputs:'), el('ul', { id: 'outputs' }, outputs)] : null,
      run.hasReport ? el('p', {}, el('a', { href: `/runs/${encodeURIComponent(run.runId)}/report.html`, id: 'report-link', target: '_blank', rel: 'noopener' }, 'The run\'s report (report.html)')) : null,
    ];
  }

  stageTable(run) {
    const rows = run.stages.map(stage => {
      const done = stage.tasks ? stage.committed / stage.tasks : 0;
      // The driver stores what runs every 2 s, the commits are newer: no more running than are left to commit.
      const running = Math.max(0, Math.min(stage.running ?? 0, stage.tasks - stage.committed));
      const bar = el('div', { className: 'bar' }, el('div', { className: 'fill' }));
      bar.firstChild.style.width = `${(100 * done).toFixed(1)}%`;
      bar.firstChild.style.background = stageColour(stage.index);
      return el('tr', { 'data-stage': stage.index },
        el('td', {}, stage.name),
        el('td', { className: 'num' }, count(stage.tasks)),
        el('td', { className: 'num committed' }, count(stage.committed)),
        el('td', { className: 'num running' }, running ? count(running) : ''),
        el('td', { className: 'num' }, stage.cached ? count(stage.cached) : ''),
        el('td', { className: 'num failed' }, stage.failed ? count(stage.failed) : ''),
        el('td', { className: 'num' }, bytes(stage.bytesRead)),
        el('td', { className: 'num' }, bytes(stage.bytesWritten)),
        el('td', { className: 'progress' }, bar));
    });
    return el('table', { id: 'stages-table' },
      el('thead', {}, headerRow(['Stage', 'Tasks', 'Committed', 'Running', 'Cached', 'Failed', 'Read', 'Written', ''], ['Tasks', 'Committed', 'Running', 'Cached', 'Failed', 'Read', 'Written'])),
      el('tbody', {}, rows));
  }

  failureList(failures, run) {
    if (failures.total === 0) return el('p', { className: 'muted' }, 'None.');
    const items = failures.items.map(f => el('li', { className: 'failure', 'data-task': `${f.stage}/${f.task}` },
      el('div', {}, el('strong', {}, `${run.stages[f.stage]?.name ?? `stage ${f.stage}`} task ${f.task}`), ` attempt ${f.attempt}`,
        f.worker ? ` on ${f.worker}` : '', f.at ? ` · ${time(f.at)}` : '', f.permanent ? ' · permanent' : ''),
      el('div', { className: 'error failure-error' }, f.error ?? '(no message)'),
      f.inputs.length ? el('div', { className: 'inputs' }, 'Inputs: ', el('ul', {}, f.inputs.map(i => el('li', { className: 'input-key' }, i)))) : null));
    return [
      el('p', {}, failures.total > failures.items.length ? `The newest ${failures.items.length} of ${count(failures.total)} failed attempts:` : `${count(failures.total)} failed attempts:`),
      el('ul', { className: 'failures' }, items),
    ];
  }
}
