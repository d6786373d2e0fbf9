import { sources } from '../../collectors/source';

/** An empty section for every collector: a config with them runs them all, so every shipped status module is loaded. */
export function everyCollectorSection(): string {
  return sources()
    .map((source) => `[${source.name}]\n`)
    .join('');
}
