import { registerSecret } from '../run/log';

/**
 * A URL may carry basic-auth credentials (https://user:password@host/). The password is registered
 * as a secret (never logged) and the returned text, for tags and messages, has no credentials.
 */
export function withoutCredentials(text: string): string {
  const url = new URL(text);
  if (!url.username && !url.password) return text;
  registerSecret(url.password);
  registerSecret(decodeURIComponent(url.password));
  url.username = '';
  url.password = '';
  return url.toString();
}
