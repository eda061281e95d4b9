/** The REST routes of the server extension (`docs/rest.md`), typed with `types.gen.ts`. */

import { postAPI, requestAPI, requestImage } from './handler';
import type {
  IDatasetList,
  IDatasetSummary,
  IInfo,
  IJobPage,
  IJobRecord,
  IJobSubmission,
  IModelDetail,
  IModelList,
  IReproduceAnswer,
  IWorkflowList
} from './types.gen';

/** `GET info`. */
export function getInfo(): Promise<IInfo> {
  return requestAPI<IInfo>('info');
}

/** `GET datasets?root=`. */
export function listDatasets(root: string): Promise<IDatasetList> {
  return requestAPI<IDatasetList>('datasets', root ? { root } : {});
}

const summaries = new Map<string, Promise<IDatasetSummary>>();

/** `GET datasets/summary?path=` (kept per path for the session; `fresh` asks again). */
export function getSummary(path: string, fresh = false): Promise<IDatasetSummary> {
  let summary = fresh ? undefined : summaries.get(path);
  if (!summary) {
    summary = requestAPI<IDatasetSummary>('datasets/summary', { path });
    summaries.set(path, summary);
    summary.catch(() => summaries.delete(path));
  }
  return summary;
}

/** `GET datasets/preview.png?path=&<dim>=&width=&height=`. */
export function getSectionImage(
  path: string,
  selection: Record<string, number>,
  width: number,
  height: number,
  axes = false
): Promise<Blob> {
  const query: Record<string, string> = { path, width: String(width), height: String(height) };
  if (axes) {
    query['axes'] = '1';
  }
  for (const [dim, label] of Object.entries(selection)) {
    query[dim] = String(label);
  }
  return requestImage('datasets/preview.png', query);
}

/** `GET jobs?limit=&cursor=&state=`. */
export function listJobs(limit: number, cursor: string | null, states: string[]): Promise<IJobPage> {
  const query: Record<string, string> = { limit: String(limit) };
  if (cursor) {
    query.cursor = cursor;
  }
  if (states.length) {
    query.state = states.join(',');
  }
  return requestAPI<IJobPage>('jobs', query);
}

/** `GET jobs/<id>`. */
export function getJob(id: string): Promise<IJobRecord> {
  return requestAPI<IJobRecord>(`jobs/${encodeURIComponent(id)}`);
}

/** `POST jobs`: 201 and the queued record. */
export function submitJob(submission: IJobSubmission): Promise<IJobRecord> {
  return postAPI<IJobRecord>('jobs', submission);
}

/** `POST jobs/<id>/cancel`: the record after asking. */
export function cancelJob(id: string): Promise<IJobRecord> {
  return postAPI<IJobRecord>(`jobs/${encodeURIComponent(id)}/cancel`);
}

/** `POST jobs/<id>/reproduce`: the report notebook that re-runs a completed job. */
export function reproduceJob(id: string, path?: string): Promise<IReproduceAnswer> {
  return postAPI<IReproduceAnswer>(`jobs/${encodeURIComponent(id)}/reproduce`, path ? { path } : {});
}

/** `GET jobs/<id>/preview.png`. */
export function getJobPreview(id: string, width: number, height: number): Promise<Blob> {
  return requestImage(`jobs/${encodeURIComponent(id)}/preview.png`, {
    width: String(width),
    height: String(height)
  });
}

/** `GET models`. */
export function listModels(): Promise<IModelList> {
  return requestAPI<IModelList>('models');
}

/** `GET models/<name>`. */
export function getModel(ref: string): Promise<IModelDetail> {
  return requestAPI<IModelDetail>(`models/${encodeURIComponent(ref)}`);
}

let workflows: Promise<IWorkflowList> | null = null;

/** `GET workflows` (asked once per session). */
export function listWorkflows(): Promise<IWorkflowList> {
  if (!workflows) {
    workflows = requestAPI<IWorkflowList>('workflows');
    workflows.catch(() => {
      workflows = null;
    });
  }
  return workflows;
}
