/** Text of sizes, times and dataset summaries, as the panel shows them. No Lab imports. */

import type { IDatasetSummary } from './types.gen';

/** `222 KiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `23 × 18 × 75` of a dims mapping. */
export function formatDims(dims: Record<string, number>): string {
  return Object.values(dims).join(' × ');
}

/** The one-line geometry summary of a dataset card: `poststack3d · 23 × 18 × 75 · 0–300 ms`. */
export function summaryLine(summary: IDatasetSummary): string {
  const parts = [summary.geometry, formatDims(summary.dims)];
  if (summary.absent_traces > 0) {
    parts.push(`${summary.absent_traces} absent`);
  }
  if (summary.time_ms.length === 2) {
    parts.push(`${trimNumber(summary.time_ms[0])}–${trimNumber(summary.time_ms[1])} ms`);
  }
  return parts.join(' · ');
}

/** A number without useless decimals (`4`, `0.5`, `2396`). */
export function trimNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
}

/** The rows of a summary table: label and text. */
export function summaryRows(summary: IDatasetSummary): [string, string][] {
  const rows: [string, string][] = [
    ['Geometry', summary.geometry],
    [
      'Dims',
      Object.entries(summary.dims)
        .map(([d, n]) => `${d} ${n}`)
        .join(' × ')
    ],
    [
      'Traces',
      `${summary.live_traces} live of ${summary.traces}` +
        (summary.absent_traces ? ` (${summary.absent_traces} absent)` : '')
    ]
  ];
  if (summary.time_ms.length === 2) {
    rows.push([
      'Time',
      `${trimNumber(summary.time_ms[0])}–${trimNumber(summary.time_ms[1])} ms` +
        (summary.sample_interval_ms !== null ? `, every ${trimNumber(summary.sample_interval_ms)} ms` : '')
    ]);
  }
  for (const [dim, range] of Object.entries(summary.trace_dims)) {
    if (range.length === 2) {
      rows.push([dim, `${range[0]} … ${range[1]}`]);
    }
  }
  if (summary.segy_format !== null) {
    rows.push(['SEG-Y format', String(summary.segy_format)]);
  }
  rows.push(['Headers', summary.headers_digest]);
  return rows;
}

/**
 * The step between labels of a trace dim spanning `first … last` in `size` cells (the
 * grid is regular; 1 when it cannot be told).
 */
export function labelStep(first: number, last: number, size: number): number {
  if (size < 2) {
    return 1;
  }
  const step = (last - first) / (size - 1);
  return Number.isInteger(step) && step > 0 ? step : 1;
}

/** `3 min ago`, from an ISO time and now (ms). */
export function ago(iso: string | null, now: number = Date.now()): string {
  if (!iso) {
    return '';
  }
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 60) {
    return `${seconds} s ago`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ago`;
  }
  if (seconds < 86_400) {
    return `${Math.floor(seconds / 3600)} h ago`;
  }
  return `${Math.floor(seconds / 86_400)} d ago`;
}
