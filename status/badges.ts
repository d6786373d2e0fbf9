import type { ModuleSnapshot } from './snapshot';

/** An SVG badge of a module: its state and 30-day availability. */
export function badgeSvg(module: ModuleSnapshot): string {
  throw new Error(`badges are not built yet (${module.module})`);
}

/** The same as JSON, for scripts and for shields.io's endpoint badge. */
export function badgeJson(module: ModuleSnapshot): string {
  throw new Error(`badges are not built yet (${module.module})`);
}
