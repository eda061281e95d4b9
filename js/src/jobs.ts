import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { refreshIcon } from '@jupyterlab/ui-components';

import { getJobPreview, getSummary } from './api';
import { button, el, ellipsized, renderError } from './dom';
import { ago } from './format';
import { IJobRow, jobRow } from './jobrow';
import { JobFeed } from './livejobs';
import { toServerPath } from './paths';
import type { IDatasetSummary, IJobRecord } from './types.gen';

/** What a job row can do (the plugin's commands). */
export interface IJobActions {
  /** Cancel, after a confirmation. */
  cancel(record: IJobRecord): void;
  /** Open the result: a comparison notebook, or a section view of the output. */
  openResult(record: IJobRecord): void;
  /** Whether there is a result to open. */
  canOpenResult(record: IJobRecord): boolean;
  /** Write the notebook that re-runs a completed job, and open it. */
  reproduce(record: IJobRecord): void;
}

/** The state filters of the Jobs tab. */
const FILTERS: [string, string[]][] = [
  ['All jobs', []],
  ['Under way', ['queued', 'running', 'previewing', 'stopping']],
  ['Completed', ['completed']],
  ['Failed', ['failed']],
  ['Canceled', ['canceled']]
];

const THUMB_W = 160;
const THUMB_H = 96;

/** One row, updated in place (its thumbnail is fetched again only when progress moved). */
class JobRowView {
  constructor(private readonly _actions: IJobActions) {
    this.node = el('li', 'pl-Job');
    const top = el('div', 'pl-Job-top');
    this._survey = ellipsized('span', 'pl-Job-survey', '');
    this._state = el('span', 'pl-Job-state');
    top.append(this._survey, this._state);
    this._task = ellipsized('div', 'pl-Job-task', '');
    const progress = el('div', 'pl-Job-progressRow');
    this._bar = el('div', 'pl-Job-progress');
    this._bar.setAttribute('role', 'progressbar');
    this._bar.setAttribute('aria-valuemin', '0');
    this._bar.setAttribute('aria-valuemax', '100');
    this._fill = el('div', 'pl-Job-progressFill');
    this._bar.appendChild(this._fill);
    this._percent = el('span', 'pl-Job-percent');
    progress.append(this._bar, this._percent);
    this._message = ellipsized('div', 'pl-Job-message', '');
    this._metrics = ellipsized('div', 'pl-Job-metrics', '');
    this._thumb = el('img', 'pl-Job-preview');
    this._thumb.alt = 'Preview of the job output';
    this._thumb.hidden = true;
    this._error = el('div', 'pl-Job-error');
    this._error.hidden = true;
    this._tools = el('div', 'pl-Job-tools');
    this._executor = ellipsized('div', 'pl-Job-executor', '');
    this.node.append(top, this._task, progress, this._message, this._metrics, this._thumb, this._error, this._executor, this._tools);
  }

  update(record: IJobRecord, row: IJobRow): void {
    this._record = record;
    const n = this.node;
    n.dataset.jobId = row.id;
    n.dataset.state = row.state;
    n.dataset.cancelable = String(row.cancelable);
    n.dataset.openable = String(this._actions.canOpenResult(record));
    this._survey.textContent = row.survey;
    this._survey.title = row.surveyPath ?? 'no input survey';
    this._state.textContent = row.state;
    this._state.className = `pl-Job-state pl-mod-${row.state}`;
    const task = [row.task, row.method].filter(Boolean).join(' · ');
    this._task.textContent = task;
    this._task.title = `${task}\njob ${row.id}, submitted ${record.created_at ?? ''}`;
    const pct = Math.round(row.progress * 1000) / 10;
    this._fill.style.width = `${pct}%`;
    this._bar.setAttribute('aria-valuenow', String(Math.floor(row.progress * 100)));
    this._bar.setAttribute('aria-label', `Progress of job ${row.id}`);
    this._percent.textContent = row.progressText;
    const when = ago(record.updated_at);
    this._message.textContent = [row.message, when].filter(Boolean).join(' · ');
    this._message.title = row.message;
    const metrics = [row.coverage ?? 'coverage —', row.snr ?? 'SNR —'];
    this._metrics.textContent = metrics.join(' · ');
    this._metrics.title = 'Coverage: live share of the input survey\'s traces. SNR: of the result so far (blind estimate without a reference).';
    this._executor.textContent = `on ${row.executor}`;
    this._executor.title = `executor ${row.executor}`;
    if (row.error && row.state !== 'canceled') {
      this._error.hidden = false;
      this._error.replaceChildren(
        el('div', 'pl-Job-errorCode', row.error.code),
        el('div', 'pl-Job-errorMessage', row.error.message),
        el('div', 'pl-Job-errorHint', row.error.hint)
      );
    } else {
      this._error.hidden = true;
    }
    this._tools.replaceChildren();
    if (row.cancelable) {
      this._tools.appendChild(button('pl-Job-cancel', 'Cancel', () => this._actions.cancel(this._record!), {
        title: `Cancel job ${row.id}`
      }));
    }
    if (this._actions.canOpenResult(record)) {
      this._tools.appendChild(
        button('pl-Job-open', row.comparable ? 'Compare' : 'Open result', () => this._actions.openResult(this._record!), {
          title: row.comparable
            ? 'Open a notebook comparing the input and the output (viz.compare)'
            : 'Open a section view of the output'
        })
      );
    }
    if (row.state === 'completed') {
      this._tools.appendChild(
        button('pl-Job-reproduce', 'Reproduce', () => this._actions.reproduce(this._record!), {
          title: 'Write the report notebook that re-runs this job with the same parameters, and open it'
        })
      );
    }
    this._updateThumb(row);
  }

  dispose(): void {
    if (this._url) {
      URL.revokeObjectURL(this._url);
    }
  }

  private _updateThumb(row: IJobRow): void {
    if (!row.hasPreview || row.progress === this._thumbProgress || this._fetching) {
      return;
    }
    const progress = row.progress;
    this._fetching = true;
    getJobPreview(row.id, THUMB_W, THUMB_H)
      .then(blob => {
        this._thumbProgress = progress;
        if (this._url) {
          URL.revokeObjectURL(this._url);
        }
        this._url = URL.createObjectURL(blob);
        this._thumb.src = this._url;
        this._thumb.hidden = false;
        this._thumb.dataset.progress = String(progress);
      })
      .catch(() => {
        // no preview yet (404): try again when progress moves
        this._thumbProgress = progress;
      })
      .finally(() => {
        this._fetching = false;
      });
  }

  readonly node: HTMLLIElement;
  private _record: IJobRecord | null = null;
  private _survey: HTMLElement;
  private _state: HTMLSpanElement;
  private _task: HTMLElement;
  private _bar: HTMLDivElement;
  private _fill: HTMLDivElement;
  private _percent: HTMLSpanElement;
  private _message: HTMLElement;
  private _metrics: HTMLElement;
  private _executor: HTMLElement;
  private _thumb: HTMLImageElement;
  private _error: HTMLDivElement;
  private _tools: HTMLDivElement;
  private _thumbProgress = -1;
  private _fetching = false;
  private _url = '';
}

/**
 * The Jobs tab: every job of the user's job store (any kernel, the CLI, a report, this
 * panel), newest first, each row a seismic object with progress, preview, cancel and
 * result. Live through the {@link JobFeed}.
 */
export class JobsTab extends Widget {
  constructor(feed: JobFeed, actions: IJobActions, serverRoot: string) {
    super();
    this._feed = feed;
    this._actions = actions;
    this._serverRoot = serverRoot;
    this.id = 'promethium-lab-jobs';
    this.title.label = 'Jobs';
    this.addClass('pl-Tab');
    this.addClass('pl-JobsTab');

    const bar = el('div', 'pl-Tab-toolbar');
    const filter = el('select', 'pl-Jobs-filter');
    filter.setAttribute('aria-label', 'Show jobs');
    FILTERS.forEach(([label], i) => {
      const option = el('option', '', label);
      option.value = String(i);
      filter.appendChild(option);
    });
    filter.addEventListener('change', () => {
      this._feed.states = FILTERS[Number(filter.value)][1];
    });
    bar.append(filter, button('pl-Jobs-refresh', 'Refresh jobs', () => void this._feed.refresh(), { icon: refreshIcon }));
    this.node.appendChild(bar);
    this._status = el('div', 'pl-Tab-status', 'Loading jobs…');
    this._status.setAttribute('role', 'status');
    this._list = el('ul', 'pl-JobList');
    this._more = button('pl-Jobs-more', 'Load older jobs', () => void this._feed.loadMore(), { text: true });
    this._more.hidden = true;
    this.node.append(this._status, this._list, this._more);

    feed.changed.connect(this._render, this);
    feed.failed.connect((_, error) => {
      if (error) {
        renderError(this._status, error);
      } else {
        this._status.classList.remove('pl-mod-error');
      }
    });
  }

  /** The row node of a job (for context-menu commands). */
  jobOf(node: HTMLElement): IJobRecord | undefined {
    const id = node.closest<HTMLElement>('.pl-Job')?.dataset.jobId;
    return id ? this._feed.get(id) : undefined;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._feed.setVisible(true);
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this._feed.setVisible(false);
  }

  dispose(): void {
    this._feed.changed.disconnect(this._render, this);
    this._views.forEach(v => v.dispose());
    super.dispose();
  }

  private _render(): void {
    const jobs = this._feed.jobs;
    const nodes: HTMLLIElement[] = [];
    const keep = new Set<string>();
    for (const record of jobs) {
      keep.add(record.id);
      let view = this._views.get(record.id);
      if (!view) {
        view = new JobRowView(this._actions);
        this._views.set(record.id, view);
      }
      view.update(record, jobRow(record, this._summaryOf(record)));
      nodes.push(view.node);
    }
    for (const [id, view] of this._views) {
      if (!keep.has(id)) {
        view.dispose();
        this._views.delete(id);
      }
    }
    this._list.replaceChildren(...nodes);
    this._status.className = 'pl-Tab-status';
    const active = jobs.filter(j => ['queued', 'running', 'previewing', 'stopping'].includes(j.state)).length;
    this._status.textContent = jobs.length
      ? `${jobs.length} job${jobs.length === 1 ? '' : 's'}${active ? `, ${active} under way` : ''}`
      : 'No jobs yet: submit one from the Submit tab, a notebook or `promethium-lab run`.';
    this._more.hidden = !this._feed.hasMore;
  }

  /** The input survey's summary (for coverage), asked once per survey. */
  private _summaryOf(record: IJobRecord): IDatasetSummary | null {
    const row = jobRow(record);
    if (!row.surveyPath) {
      return null;
    }
    const path = toServerPath(row.surveyPath, this._serverRoot);
    if (path === null || !path) {
      return null;
    }
    const known = this._summaries.get(path);
    if (known !== undefined) {
      return known;
    }
    this._summaries.set(path, null);
    getSummary(path)
      .then(summary => {
        this._summaries.set(path, summary);
        this._render();
      })
      .catch(() => undefined);
    return null;
  }

  private _feed: JobFeed;
  private _actions: IJobActions;
  private _serverRoot: string;
  private _views = new Map<string, JobRowView>();
  private _summaries = new Map<string, IDatasetSummary | null>();
  private _status: HTMLDivElement;
  private _list: HTMLUListElement;
  private _more: HTMLButtonElement;
}
