import type { PageAnswer } from '../lib/http/pages';

/** The files the details pages load from /status/assets/ (the chart library, served locally, never from a CDN). */
export function statusAsset(name: string): PageAnswer | undefined {
  void name;
  return undefined; // filled in by the details pages
}
