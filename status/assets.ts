import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PageAnswer } from '../lib/http/pages';
import { PROJECT_ROOT } from '../lib/config/paths';

/** The chart library's files, as npm installed them: served from here, never from a CDN. */
const ASSETS: Record<string, { file: string; contentType: string }> = {
  'uPlot.iife.min.js': { file: 'node_modules/uplot/dist/uPlot.iife.min.js', contentType: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: 'node_modules/uplot/dist/uPlot.min.css', contentType: 'text/css; charset=utf-8' },
};

/** Read once; a new uPlot comes with a new gateway process. */
const loaded = new Map<string, PageAnswer>();

/** The files the details pages load from /status/assets/ (the chart library, served locally, never from a CDN). */
export function statusAsset(name: string): PageAnswer | undefined {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) return undefined;
  let answer = loaded.get(name);
  if (!answer) {
    // A day: the file changes only with an upgrade of the package, and a reload after one is harmless.
    answer = { contentType: asset.contentType, body: readFileSync(path.join(PROJECT_ROOT, asset.file)), headers: { 'cache-control': 'public, max-age=86400' } };
    loaded.set(name, answer);
  }
  return answer;
}
