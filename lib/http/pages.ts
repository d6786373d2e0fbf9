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
 * The GET (and HEAD) pages: for a request's URL, the page that answers it (`route` names it in the
 * metrics without its variable parts, e.g. /status/module/:module: never a name from the URL, so the
 * label keeps few values), or undefined for 404.
 */
export type GatewayPages = (url: URL) => Page | undefined;

/** A page found for a URL: its route (the metrics label) and how to answer it. */
export interface Page {
  route: string;
  answer: () => Promise<PageAnswer>;
}
