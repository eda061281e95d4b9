import { describe, expect, it } from 'vitest';

import {
  FinishedJobs,
  JOB_EVENT_SCHEMA_ID,
  applyJobEvent,
  asJobEvent,
  coverageOf,
  jobRow,
  snrOf
} from '../src/jobrow';
import type { IJobRecord } from '../src/types.gen';

function record(overrides: Partial<IJobRecord> = {}): IJobRecord {
  return {
    id: 'a1b2c3d4e5f6',
    kind: 'reconstruct',
    parameters: { source: '/root/surveys/f3_missing.sgy', method: 'pwd', out: '/root/filled.zarr' },
    state: 'running',
    progress: 0.425,
    message: 'block 5/12',
    created_at: '2026-01-01T10:00:00.000Z',
    started_at: '2026-01-01T10:00:01.000Z',
    updated_at: '2026-01-01T10:00:05.000Z',
    finished_at: null,
    executor: 'kernel',
    worker: 'host:123',
    artifacts: {},
    preview_path: null,
    error: null,
    traceback: '',
    pid: 123,
    host: 'host',
    heartbeat_at: null,
    cancel_requested: false,
    outputs: ['/root/filled.zarr'],
    partial_outputs: [],
    target: 'promethium_lab.workflows.reconstruct:reconstruct',
    ...overrides
  };
}

describe('jobRow', () => {
  it('shows a running job as a seismic object', () => {
    const row = jobRow(record(), {
      path: 'surveys/f3_missing.sgy',
      geometry: 'poststack3d',
      dims: { inline: 23, crossline: 18, time: 75 },
      traces: 414,
      live_traces: 336,
      absent_traces: 78,
      time_ms: [4, 300],
      sample_interval_ms: 4,
      segy_format: 1,
      trace_dims: {},
      headers_digest: 'sha256:x'
    });
    expect(row.survey).toBe('f3_missing.sgy');
    expect(row.task).toBe('reconstruct');
    expect(row.method).toBe('pwd');
    expect(row.progressText).toBe('42 %');
    expect(row.coverage).toBe('live 81.2 % of 414 traces');
    expect(row.executor).toBe('kernel · host:123');
    expect(row.active).toBe(true);
    expect(row.cancelable).toBe(true);
    expect(row.comparable).toBe(false);
    expect(row.snr).toBeNull();
    expect(row.hasPreview).toBe(true);
  });

  it('shows the error and hint of a failed job, and no cancel', () => {
    const row = jobRow(
      record({
        state: 'failed',
        error: { code: 'PL-IO-004', name: 'TRUNCATED_FILE', message: 'cut short', hint: 'copy it again', retryable: false }
      })
    );
    expect(row.error).toEqual({ code: 'PL-IO-004', message: 'cut short', hint: 'copy it again' });
    expect(row.cancelable).toBe(false);
    expect(row.active).toBe(false);
    expect(row.hasPreview).toBe(false);
  });

  it('offers the comparison of a completed reconstruction', () => {
    const row = jobRow(
      record({ state: 'completed', progress: 1, artifacts: { output: '/root/filled.zarr' } })
    );
    expect(row.comparable).toBe(true);
    expect(row.output).toBe('/root/filled.zarr');
    expect(row.progressText).toBe('100 %');
  });

  it('no cancel once asked, and a job without a survey', () => {
    expect(jobRow(record({ cancel_requested: true })).cancelable).toBe(false);
    expect(jobRow(record({ state: 'stopping' })).cancelable).toBe(false);
    const row = jobRow(record({ kind: 'batches', parameters: { n_batches: 3 }, outputs: [] }));
    expect(row.survey).toBe('—');
    expect(row.method).toBe('');
    expect(row.output).toBeNull();
  });
});

describe('SNR and coverage', () => {
  it('reads SNR from metrics, the blind estimate, or the message', () => {
    expect(snrOf({ artifacts: { metrics: { snr_db: 12.345 } }, message: '' })).toBe('SNR 12.3 dB');
    expect(snrOf({ artifacts: { blind_snr_db: 3.05 }, message: '' })).toBe('blind SNR 3.0 dB');
    expect(snrOf({ artifacts: {}, message: 'block 3/8, SNR 7.25 dB' })).toBe('SNR 7.3 dB');
    expect(snrOf({ artifacts: { metrics: { snr_db: 'nan' } }, message: '' })).toBeNull();
    expect(snrOf({ artifacts: {}, message: 'block 3/8' })).toBeNull();
  });

  it('says the live share of the traces', () => {
    expect(coverageOf({ traces: 480, live_traces: 480 })).toBe('live 100 % of 480 traces');
    expect(coverageOf({ traces: 0, live_traces: 0 })).toBeNull();
    expect(coverageOf(null)).toBeNull();
  });
});

describe('job events', () => {
  const emission = {
    schema_id: JOB_EVENT_SCHEMA_ID,
    job_id: 'a1b2c3d4e5f6',
    kind: 'reconstruct',
    state: 'running',
    progress: 0.6,
    message: 'block 7/12',
    updated_at: '2026-01-01T10:00:07.000Z'
  };

  it('are read from the emission (flat, or under data) and others ignored', () => {
    expect(asJobEvent(emission)?.progress).toBe(0.6);
    const { schema_id, ...data } = emission;
    expect(asJobEvent({ schema_id, data })?.job_id).toBe('a1b2c3d4e5f6');
    expect(asJobEvent({ ...emission, schema_id: 'https://other/v1' })).toBeNull();
    expect(asJobEvent({ schema_id: JOB_EVENT_SCHEMA_ID, job_id: 3 })).toBeNull();
  });

  it('update a record unless older than it', () => {
    const event = asJobEvent(emission)!;
    const updated = applyJobEvent(record(), event)!;
    expect(updated.progress).toBe(0.6);
    expect(updated.message).toBe('block 7/12');
    expect(updated.parameters).toEqual(record().parameters);
    expect(applyJobEvent(record({ updated_at: '2026-01-01T10:00:09.000Z' }), event)).toBeNull();
  });
});

describe('FinishedJobs', () => {
  it('tells each completed or failed job once', () => {
    const since = new Date('2026-01-01T10:00:00.000Z');
    const finished = new FinishedJobs(since);
    expect(finished.observe({ id: 'a', kind: 'ingest', state: 'running' })).toBeNull();
    expect(finished.observe({ id: 'a', kind: 'ingest', state: 'completed' })).toEqual({
      id: 'a',
      kind: 'ingest',
      state: 'completed'
    });
    expect(finished.observe({ id: 'a', kind: 'ingest', state: 'completed' })).toBeNull();
    // finished between two looks, after the panel started
    expect(
      finished.observe({ id: 'b', kind: 'x', state: 'failed', finished_at: '2026-01-01T10:00:03.000Z' })
    ).toEqual({ id: 'b', kind: 'x', state: 'failed' });
    // finished before the panel started: history, not news
    expect(
      finished.observe({ id: 'c', kind: 'x', state: 'completed', finished_at: '2025-12-31T10:00:00.000Z' })
    ).toBeNull();
    // canceled by the user: no toast
    expect(finished.observe({ id: 'd', kind: 'x', state: 'running' })).toBeNull();
    expect(finished.observe({ id: 'd', kind: 'x', state: 'canceled' })).toBeNull();
  });
});
