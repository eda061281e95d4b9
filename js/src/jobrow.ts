/**
 * A job record as the Jobs tab shows it: a seismic object (survey, task, method,
 * coverage, SNR so far, progress, executor), plus the bookkeeping of live updates (job
 * events applied to records, one notification per finished job). No Lab imports.
 */

import { jobOutput, jobSource, hasComparison } from './codegen';
import { basename } from './paths';
import type { IDatasetSummary, IJobRecord, JobState } from './types.gen';

/** States of a job still under way. */
export const ACTIVE_STATES: ReadonlySet<string> = new Set([
  'queued',
  'running',
  'previewing',
  'stopping'
]);

/** States a job ends in. */
export const TERMINAL_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'canceled']);

/** Schema id of the job events of the server extension (`promethium_lab/server/events.py`). */
export const JOB_EVENT_SCHEMA_ID = 'https://promethium-lab.dev/events/job/v1';

/** The data of a job event. */
export interface IJobEvent {
  job_id: string;
  kind: string;
  state: JobState;
  progress: number;
  message: string;
  updated_at: string | null;
}

/** What a row of the Jobs tab shows. */
export interface IJobRow {
  id: string;
  /** File name of the input survey ('—' when the job has none). */
  survey: string;
  /** Its path as the job recorded it. */
  surveyPath: string | null;
  /** The job kind. */
  task: string;
  /** Reconstruction method or model; '' when the kind has none. */
  method: string;
  state: JobState;
  /** Progress in [0, 1]. */
  progress: number;
  /** `42 %`. */
  progressText: string;
  /** Latest progress message. */
  message: string;
  /** `SNR 12.3 dB` (or the blind estimate), null when unknown yet. */
  snr: string | null;
  /** `live 81 % of 414 traces`, null when unknown. */
  coverage: string | null;
  /** Where it runs (`kernel`, `process`, `dask:…`), and the worker if any. */
  executor: string;
  /** Error of a failed (or canceled) job. */
  error: { code: string; message: string; hint: string } | null;
  active: boolean;
  /** Cancel makes sense (active and not already asked). */
  cancelable: boolean;
  /** The job's main output, if any. */
  output: string | null;
  /** A before/after comparison can be opened. */
  comparable: boolean;
  /** Whether a preview may be fetched. */
  hasPreview: boolean;
}

function finite(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** `12.3 dB`. */
export function formatDb(value: number): string {
  return `${value.toFixed(1)} dB`;
}

/**
 * The SNR a record carries: metrics in its artifacts (`snr_db`, else the blind estimate
 * `blind_snr_db`, at the top or under `metrics`), else an `SNR … dB` in its message.
 */
export function snrOf(record: Pick<IJobRecord, 'artifacts' | 'message'>): string | null {
  const places: Record<string, unknown>[] = [record.artifacts];
  const metrics = record.artifacts['metrics'];
  if (metrics && typeof metrics === 'object') {
    places.unshift(metrics as Record<string, unknown>);
  }
  for (const place of places) {
    const snr = finite(place['snr_db']);
    if (snr !== null) {
      return `SNR ${formatDb(snr)}`;
    }
    const blind = finite(place['blind_snr_db']);
    if (blind !== null) {
      return `blind SNR ${formatDb(blind)}`;
    }
  }
  const match = /\bSNR[^0-9+-]{0,8}([+-]?\d+(?:\.\d+)?)\s*dB/i.exec(record.message);
  return match ? `SNR ${formatDb(Number(match[1]))}` : null;
}

/** `live 81 % of 414 traces` from a survey summary (null without one). */
export function coverageOf(summary: Pick<IDatasetSummary, 'traces' | 'live_traces'> | null): string | null {
  if (!summary || summary.traces <= 0) {
    return null;
  }
  const pct = (100 * summary.live_traces) / summary.traces;
  const text = pct > 99.95 || pct < 0.05 ? pct.toFixed(0) : pct.toFixed(1);
  return `live ${text} % of ${summary.traces} traces`;
}

/** The row of a record; `summary` is its input survey's, when known. */
export function jobRow(record: IJobRecord, summary: IDatasetSummary | null = null): IJobRow {
  const source = jobSource(record);
  const method = record.parameters['method'] ?? record.parameters['model'];
  const progress = Math.min(1, Math.max(0, finite(record.progress) ?? 0));
  const active = ACTIVE_STATES.has(record.state);
  const executor = record.worker ? `${record.executor} · ${record.worker}` : record.executor;
  return {
    id: record.id,
    survey: source ? basename(source) : '—',
    surveyPath: source,
    task: record.kind,
    method: typeof method === 'string' ? method : '',
    state: record.state,
    progress,
    progressText: `${Math.floor(progress * 100)} %`,
    message: record.message,
    snr: snrOf(record),
    coverage: coverageOf(summary),
    executor,
    error: record.error
      ? { code: record.error.code, message: record.error.message, hint: record.error.hint }
      : null,
    active,
    cancelable: active && !record.cancel_requested && record.state !== 'stopping',
    output: jobOutput(record),
    comparable: hasComparison(record),
    hasPreview: record.preview_path !== null || active
  };
}

/** Whether an event emission is a job event (and its data, else null). */
export function asJobEvent(emission: { schema_id?: unknown; [key: string]: unknown }): IJobEvent | null {
  if (emission.schema_id !== JOB_EVENT_SCHEMA_ID) {
    return null;
  }
  // jupyter_server sends the data beside schema_id; accept a nested `data` too.
  const data = (
    emission['data'] && typeof emission['data'] === 'object' ? emission['data'] : emission
  ) as Record<string, unknown>;
  if (typeof data['job_id'] !== 'string' || typeof data['state'] !== 'string') {
    return null;
  }
  return {
    job_id: data['job_id'],
    kind: String(data['kind'] ?? ''),
    state: data['state'] as JobState,
    progress: finite(data['progress']) ?? 0,
    message: String(data['message'] ?? ''),
    updated_at: typeof data['updated_at'] === 'string' ? data['updated_at'] : null
  };
}

/**
 * A record with an event applied, or null when the event is older than the record (its
 * `updated_at` is earlier) and so changes nothing.
 */
export function applyJobEvent(record: IJobRecord, event: IJobEvent): IJobRecord | null {
  if (record.updated_at && event.updated_at && event.updated_at < record.updated_at) {
    return null;
  }
  return {
    ...record,
    state: event.state,
    progress: event.progress,
    message: event.message,
    updated_at: event.updated_at ?? record.updated_at
  };
}

/** What changes between two looks at a job that the Jobs tab shows. */
export function jobSignature(record: Pick<IJobRecord, 'id' | 'state' | 'progress' | 'message' | 'updated_at'>): string {
  return `${record.id}|${record.state}|${record.progress}|${record.updated_at}|${record.message}`;
}

/** A finished job to tell the user about. */
export interface IFinished {
  id: string;
  kind: string;
  state: 'completed' | 'failed';
}

/**
 * Sees jobs go by and says, once per job, when one completed or failed: a job seen under
 * way and later finished, or first seen finished after `since` (it finished between
 * two looks). Jobs already finished before the panel started are not announced.
 */
export class FinishedJobs {
  constructor(since: Date = new Date()) {
    this._since = since.getTime();
  }

  /** Look at a job; returns it when it is newly completed or failed. */
  observe(job: { id: string; kind: string; state: string; finished_at?: string | null; updated_at?: string | null }): IFinished | null {
    if (!TERMINAL_STATES.has(job.state)) {
      this._seenActive.add(job.id);
      return null;
    }
    if (this._told.has(job.id)) {
      return null;
    }
    const when = job.finished_at ?? job.updated_at ?? null;
    const fresh =
      this._seenActive.has(job.id) || (when !== null && Date.parse(when) >= this._since);
    this._told.add(job.id);
    if (!fresh || job.state === 'canceled') {
      return null;
    }
    return { id: job.id, kind: job.kind, state: job.state as 'completed' | 'failed' };
  }

  private _since: number;
  private _seenActive = new Set<string>();
  private _told = new Set<string>();
}
