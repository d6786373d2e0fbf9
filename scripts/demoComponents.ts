import type { LocalComponent } from './local';

/** The demo sources the shipped collectors read in the quickstart (one entry per source). */
export function demoComponents(): LocalComponent[] {
  return [];
}
