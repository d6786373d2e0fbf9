import type { GatewayPages } from '../../lib/http/pages';

/** GETs `path` (with its query) from pages as the gateway would; 404 when no page answers it. */
export async function getPage(pages: GatewayPages, path: string): Promise<{ status: number; contentType: string; body: string; headers: Record<string, string> }> {
  const page = pages(new URL(path, 'http://gateway'));
  if (!page) return { status: 404, contentType: 'text/plain', body: '', headers: {} };
  const answer = await page.answer();
  return { status: answer.status ?? 200, contentType: answer.contentType, body: answer.body.toString(), headers: answer.headers ?? {} };
}
