import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Namespace of the server extension's routes. */
export const API_NAMESPACE = 'promethium';

/** Body of an error answered by the server extension (`PromethiumError.to_dict()`). */
export interface IErrorBody {
  code: string;
  name?: string;
  message: string;
  hint: string;
  retryable: boolean;
}

/** A failed call to the server extension. */
export class PromethiumAPIError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string = '',
    readonly retryable: boolean = false
  ) {
    super(message);
    this.name = 'PromethiumAPIError';
  }
}

/** `GET promethium/info`. */
export interface IInfo {
  version: string;
  data_dir: string;
  python: string;
}

export type DatasetKind = 'segy' | 'su' | 'miniseed' | 'sac' | 'zarr';

/** One entry of `GET promethium/datasets`. */
export interface IDataset {
  name: string;
  path: string;
  kind: DatasetKind;
  size: number | null;
  modified: string;
  flavor?: 'promethium' | 'mdio' | null;
  geometry?: string | null;
  shape?: number[] | null;
  consolidated?: boolean | null;
}

/** `GET promethium/datasets`. */
export interface IDatasetList {
  root: string;
  datasets: IDataset[];
  truncated: boolean;
  max_depth: number;
}

function isErrorBody(data: unknown): data is IErrorBody {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as IErrorBody).code === 'string' &&
    typeof (data as IErrorBody).message === 'string'
  );
}

/**
 * Call the server extension.
 *
 * @param endPoint route under `<base_url>/promethium/`, e.g. `info`
 * @param query query parameters
 * @param init fetch options
 * @returns the decoded JSON answer
 */
export async function requestAPI<T>(
  endPoint = '',
  query: Record<string, string> = {},
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url =
    URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint) +
    (Object.keys(query).length ? URLExt.objectToQueryString(query) : '');

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: unknown = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
  }
  if (!response.ok) {
    if (isErrorBody(data)) {
      throw new PromethiumAPIError(
        response.status,
        data.code,
        data.message,
        data.hint ?? '',
        Boolean(data.retryable)
      );
    }
    const message =
      typeof data === 'object' && data !== null && 'message' in data
        ? String((data as { message: unknown }).message)
        : response.statusText || `HTTP ${response.status}`;
    throw new PromethiumAPIError(response.status, `HTTP-${response.status}`, message);
  }
  return data as T;
}
