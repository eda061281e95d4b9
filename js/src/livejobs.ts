/**
 * The jobs the panel shows, kept current: JupyterLab's event stream brings each change of
 * a job (`promethium_lab/server/events.py`), and `GET promethium/jobs` is polled while
 * the Jobs tab is visible, with backoff (1 s, doubling to 30 s, reset on a change), so
 * the list stays right without events too. A notification tells when a job completes
 * or fails, once per job.
 */

import { Notification } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { listJobs } from './api';
import { Poller } from './backoff';
import { FinishedJobs, IJobEvent, applyJobEvent, asJobEvent, jobSignature } from './jobrow';
import type { IJobRecord } from './types.gen';

/** Jobs per page. */
export const PAGE_SIZE = 50;

/** Options of {@link JobFeed}. */
export interface IJobFeedOptions {
  /** JupyterLab's event stream (`app.serviceManager.events.stream`), if any. */
  events?: Event.Stream | null;
  /** Called to open a finished job's result from its notification. */
  openResult?: (record: IJobRecord) => void;
}

/** The job list of the panel: records newest first, paged, live. */
export class JobFeed {
  constructor(options: IJobFeedOptions = {}) {
    this._openResult = options.openResult ?? null;
    this.poller = new Poller({ min: 1000, max: 30_000, factor: 2, task: () => this._refresh() });
    this._events = options.events ?? null;
    this._events?.connect(this._onEmission, this);
  }

  /** Emitted when the list or one of its records changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted with the error of a failed refresh (null once one succeeds again). */
  get failed(): ISignal<this, unknown> {
    return this._failed;
  }

  /** The records shown, newest first. */
  get jobs(): IJobRecord[] {
    return this._order.map(id => this._records.get(id)!).filter(Boolean);
  }

  /** A record by id. */
  get(id: string): IJobRecord | undefined {
    return this._records.get(id);
  }

  /** Whether older jobs remain to be loaded. */
  get hasMore(): boolean {
    return this._cursor !== null;
  }

  /** States listed (empty: all). */
  get states(): string[] {
    return this._states;
  }
  set states(value: string[]) {
    this._states = value;
    this._records.clear();
    this._order = [];
    this._pages = 1;
    this._cursor = null;
    this._changed.emit();
    this.poller.kick();
    if (!this.poller.running) {
      void this._refresh();
    }
  }

  /** Poll while someone looks at the jobs. */
  setVisible(visible: boolean): void {
    if (visible) {
      this.poller.start();
    } else {
      this.poller.stop();
    }
  }

  /** Ask again now (a submit, a cancel, the refresh button). */
  refresh(): Promise<boolean> {
    if (this.poller.running) {
      this.poller.kick();
      return Promise.resolve(true);
    }
    return this._refresh();
  }

  /** Load the next page of older jobs. */
  async loadMore(): Promise<void> {
    if (this._cursor === null) {
      return;
    }
    const page = await listJobs(PAGE_SIZE, this._cursor, this._states);
    this._pages += 1;
    for (const record of page.jobs) {
      if (!this._records.has(record.id)) {
        this._order.push(record.id);
      }
      this._records.set(record.id, record);
    }
    this._cursor = page.next_cursor;
    this._changed.emit();
  }

  /** Put a record in (from a submit or a cancel answer). */
  upsert(record: IJobRecord): void {
    if (!this._records.has(record.id)) {
      this._order.unshift(record.id);
    }
    this._records.set(record.id, record);
    this._announce(record);
    this._changed.emit();
  }

  dispose(): void {
    this.poller.stop();
    this._events?.disconnect(this._onEmission, this);
    Signal.clearData(this);
  }

  /** One poll: the loaded pages again, newest first. True when something changed. */
  private async _refresh(): Promise<boolean> {
    try {
      const limit = Math.min(500, PAGE_SIZE * this._pages);
      const page = await listJobs(limit, null, this._states);
      const before = this._order.map(id => jobSignature(this._records.get(id)!)).join('\n');
      this._records = new Map(page.jobs.map(r => [r.id, r]));
      this._order = page.jobs.map(r => r.id);
      this._cursor = page.next_cursor;
      const after = page.jobs.map(jobSignature).join('\n');
      for (const record of page.jobs) {
        this._announce(record);
      }
      this._failed.emit(null);
      if (after !== before) {
        this._changed.emit();
        return true;
      }
      return false;
    } catch (error) {
      this._failed.emit(error);
      return false;
    }
  }

  private _onEmission(_: unknown, emission: Event.Emission): void {
    const event = asJobEvent(emission as { schema_id: string });
    if (event) {
      this._apply(event);
    }
  }

  private _apply(event: IJobEvent): void {
    const record = this._records.get(event.job_id);
    if (!record) {
      // a job this list has not seen yet: the next poll (now) brings its record
      if (this._states.length === 0 || this._states.includes(event.state)) {
        this.poller.kick();
      }
      return;
    }
    const updated = applyJobEvent(record, event);
    if (!updated) {
      return;
    }
    this._records.set(updated.id, updated);
    this.poller.reset();
    if (event.state !== record.state && ['completed', 'failed'].includes(event.state)) {
      // the record gains its artifacts or error: fetch it with the next poll
      this.poller.kick();
    }
    this._announce(updated);
    this._changed.emit();
  }

  private _announce(record: IJobRecord): void {
    const done = this._finished.observe(record);
    if (!done) {
      return;
    }
    const what = `${record.kind} job ${record.id}`;
    if (done.state === 'completed') {
      const open = this._openResult;
      Notification.success(`${what} completed`, {
        autoClose: 8000,
        actions: open ? [{ label: 'Open result', callback: () => open(this._records.get(record.id) ?? record) }] : []
      });
    } else {
      const error = record.error;
      Notification.error(
        `${what} failed${error ? `: ${error.code} ${error.message}` : ''}`,
        { autoClose: false }
      );
    }
  }

  readonly poller: Poller;
  private _events: Event.Stream | null;
  private _openResult: ((record: IJobRecord) => void) | null;
  private _records = new Map<string, IJobRecord>();
  private _order: string[] = [];
  private _states: string[] = [];
  private _pages = 1;
  private _cursor: string | null = null;
  private _finished = new FinishedJobs();
  private _changed = new Signal<this, void>(this);
  private _failed = new Signal<this, unknown>(this);
}
