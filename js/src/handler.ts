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
  /** The parameter the error is about, when it is one. */
  field?: string | null;
}

/** A failed call to the server extension. */
export class PromethiumAPIError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string = '',
    readonly retryable: boolean = false,
    readonly field: string | null = null
  ) {
    super(message);
    this.name = 'PromethiumAPIError';
  }
}

function isErrorBody(data: unknown): data is IErrorBody {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as IErrorBody).code === 'string' &&
    typeof (data as IErrorBody).message === 'string'
  );
}

/** `fetch` a route of the server extension, with the server's auth (and XSRF on writes). */
async function fetchAPI(endPoint: string, query: Record<string, string>, init: RequestInit): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const url =
    URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint) +
    (Object.keys(query).length ? URLExt.objectToQueryString(query) : '');
  try {
    return await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
}

/** The body of an answer: JSON when it parses, else the text. */
async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text.length > 0) {
    try {
      return JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
  }
  return text;
}

/** The error of a refused request: its envelope, else the HTTP status. */
function apiError(response: Response, data: unknown): PromethiumAPIError {
  if (isErrorBody(data)) {
    return new PromethiumAPIError(
      response.status,
      data.code,
      data.message,
      data.hint ?? '',
      Boolean(data.retryable),
      typeof data.field === 'string' ? data.field : null
    );
  }
  const message =
    typeof data === 'object' && data !== null && 'message' in data
      ? String((data as { message: unknown }).message)
      : response.statusText || `HTTP ${response.status}`;
  return new PromethiumAPIError(response.status, `HTTP-${response.status}`, message);
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
  const response = await fetchAPI(endPoint, query, init);
  const data = await readBody(response);
  if (!response.ok) {
    throw apiError(response, data);
  }
  return data as T;
}

/** `POST` a JSON body to the server extension (XSRF is handled by `makeRequest`). */
export function postAPI<T>(endPoint: string, body: unknown = {}): Promise<T> {
  return requestAPI<T>(endPoint, {}, { method: 'POST', body: JSON.stringify(body) });
}

/**
 * An image of the server extension (a PNG route), as a Blob: fetched with the server's
 * auth like every call, so it works without a login cookie.
 */
export async function requestImage(endPoint: string, query: Record<string, string> = {}): Promise<Blob> {
  // cache 'default': makeRequest's 'no-store' appends a cache-busting `&<time>` argument,
  // which the section route would take for a trace dim; the PNG routes answer no-store
  const response = await fetchAPI(endPoint, query, { cache: 'default' });
  if (!response.ok) {
    throw apiError(response, await readBody(response));
  }
  return response.blob();
}
