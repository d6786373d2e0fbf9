/** GET pages a server answers beside its main purpose (the gateway serves the status pages this way). */

/** One answer of a GET page. */
export interface PageAnswer {
  contentType: string;
  body: string | Buffer;
  /** Default 200. */
  status?: number;
  headers?: Record<string, string>;
}

/**
 * The GET pages: for a request's URL, the page that answers it (`route` names it in the metrics
 * without its variable parts, e.g. /status/module/:module), or undefined for 404.
 */
export type GatewayPages = (url: URL) => { route: string; answer: () => Promise<PageAnswer> } | undefined;
