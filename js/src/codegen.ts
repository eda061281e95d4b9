/**
 * The Python the panel writes into notebooks: open a dataset, compare a job's input and
 * output. It uses promethium_lab's public API only (`promethium_lab.workflows.open_survey`,
 * `promethium_lab.viz.section`, `promethium_lab.viz.compare`). No Lab imports.
 */

import { pyString, relativePath, seismicKind } from './paths';
import type { IJobRecord } from './types.gen';

/** Parameters naming a job's input survey, in the order they are looked for. */
export const SOURCE_PARAMETERS = ['source', 'path', 'store', 'estimate'] as const;

/**
 * The code that opens a dataset, from a notebook in folder `notebookDir` (both relative
 * to the server root): the kernel runs in the notebook's folder.
 */
export function openDatasetCode(datasetPath: string, notebookDir: string): string {
  const rel = relativePath(notebookDir, datasetPath);
  return [
    'import promethium_lab.workflows as wf',
    'from promethium_lab import viz',
    '',
    `ds = wf.open_survey(${pyString(rel)})  # lazy: only what is shown is read`,
    'viz.section(ds)'
  ].join('\n');
}

/** The job's input survey: the first of SOURCE_PARAMETERS that is a string path. */
export function jobSource(record: Pick<IJobRecord, 'parameters'>): string | null {
  for (const name of SOURCE_PARAMETERS) {
    const value = record.parameters[name];
    if (typeof value === 'string' && value) {
      return value;
    }
  }
  return null;
}

/** The job's main output (`artifacts.output`, else its first declared output). */
export function jobOutput(record: Pick<IJobRecord, 'artifacts' | 'outputs'>): string | null {
  const out = record.artifacts['output'];
  if (typeof out === 'string' && out) {
    return out;
  }
  return record.outputs.length ? record.outputs[0] : null;
}

/** Whether the job's output is a survey the comparison view can show beside its input. */
export function hasComparison(
  record: Pick<IJobRecord, 'state' | 'parameters' | 'artifacts' | 'outputs'>
): boolean {
  const source = jobSource(record);
  const output = jobOutput(record);
  return (
    record.state === 'completed' &&
    source !== null &&
    output !== null &&
    seismicKind(source) !== null &&
    seismicKind(output) !== null
  );
}

/**
 * The cells of a comparison notebook for a completed job: input and output opened lazily
 * (paths as the job recorded them: the server resolves them to absolute paths), and
 * `viz.compare` of the two (with the job's reference, if it had one).
 */
export function comparisonCells(
  record: Pick<IJobRecord, 'id' | 'kind' | 'state' | 'parameters' | 'artifacts' | 'outputs'>
): string[] {
  const source = jobSource(record);
  const output = jobOutput(record);
  if (source === null || output === null) {
    throw new Error(`job ${record.id} has no input and output surveys to compare`);
  }
  const method = record.parameters['method'];
  const reference = record.parameters['reference'];
  const header =
    `# Job ${record.id}: ${record.kind}` +
    (typeof method === 'string' ? ` (${method})` : '') +
    ' — its input (before) and output (after)';
  const open = [
    header,
    'import promethium_lab.workflows as wf',
    'from promethium_lab import viz',
    '',
    `before = wf.open_survey(${pyString(source)})`,
    `after = wf.open_survey(${pyString(output)})`
  ];
  const args = ['before', 'after'];
  if (typeof reference === 'string' && reference) {
    open.push(`reference = wf.open_survey(${pyString(reference)})`);
    args.push('reference=reference');
  }
  open.push("after.attrs.get('metrics')");
  return [open.join('\n'), `viz.compare(${args.join(', ')})`];
}
