import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { globSync } from 'tinyglobby';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { schemaRegistry, type SchemaRegistry } from '../../lib/documents/schemas';
import { patternDefinitions, type PatternDefinition } from './patterns';
import { HEAD_BYTES, headHash, lastLineStart, readCompleteLines } from './reader';
import { OFFSETS_FILE, OFFSETS_STATE, type FileState, type LogsState } from './state';
import { ValuesAccumulator } from './values';
import { LOGS_PATTERN } from '../../schemas/kinds';


/** One file to read this run, under its identity. */
interface WatchedFile {
  id: string;
  path: string;
  size: number;
  mtimeMs: number;
  patterns: Set<string>;
  /** It matched a glob the last run already watched, so it appeared since then and is read from its start. */
  appearedSinceLastRun: boolean;
}

function identity(stats: { dev: number; ino: number }): string {
  return `${stats.dev}:${stats.ino}`;
}

/** The files the patterns' globs match now, by identity (a file reached by two paths is read once). */
async function matchedFiles(context: CollectorContext, patterns: PatternDefinition[], previousGlobs: Set<string>): Promise<{ files: Map<string, WatchedFile>; filesPerPattern: Map<string, number> }> {
  const files = new Map<string, WatchedFile>();
  const filesPerPattern = new Map<string, number>();
  for (const pattern of patterns) {
    const ids = new Set<string>();
    for (const glob of pattern.globs) {
      for (const file of globSync(glob, { absolute: true, onlyFiles: true, expandDirectories: false, dot: true })) {
        let stats;
        try {
          stats = await stat(file);
        } catch (error) {
          context.problem(`logs: cannot stat ${file}: ${(error as Error).message}`);
          continue;
        }
        if (!stats.isFile()) continue;
        const id = identity(stats);
        ids.add(id);
        const known = files.get(id);
        const watched = known ?? { id, path: file, size: stats.size, mtimeMs: stats.mtimeMs, patterns: new Set<string>(), appearedSinceLastRun: false };
        watched.patterns.add(pattern.name);
        watched.appearedSinceLastRun ||= previousGlobs.has(glob);
        files.set(id, watched);
      }
    }
    filesPerPattern.set(pattern.name, ids.size);
  }
  return { files, filesPerPattern };
}

/**
 * A file of the last run that is no longer under its globs was usually rotated (renamed to
 * app.log.1, app.log-20261122, ...): look for its identity next to its old path, to read its tail.
 */
async function findRotated(previous: FileState, id: string): Promise<{ path: string; size: number; mtimeMs: number } | undefined> {
  const directory = path.dirname(previous.path);
  const base = path.basename(previous.path);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const candidate = path.join(directory, name);
    try {
      const stats = await stat(candidate);
      if (stats.isFile() && identity(stats) === id) return { path: candidate, size: stats.size, mtimeMs: stats.mtimeMs };
    } catch {
      // vanished meanwhile
    }
  }
  return undefined;
}

/**
 * Files in the order they were written, so that `last` is the newest value: by modification time,
 * and on a tie the rotated file (app.log.1, app.log-20261122: the longer path) before the current one.
 */
function inWritingOrder(files: Iterable<WatchedFile>): WatchedFile[] {
  return [...files].sort((a, b) => a.mtimeMs - b.mtimeMs || b.path.length - a.path.length);
}

/** One pattern's lines, matches and values, in one file or the whole run. */
interface Tally {
  lines: number;
  matches: number;
  values: ValuesAccumulator | undefined;
}

function newTally(pattern: PatternDefinition): Tally {
  return { lines: 0, matches: 0, values: pattern.values && new ValuesAccumulator(pattern.values) };
}

/** The values document of a pattern, if any; one that cannot be built (a sum too large for its type) is a run problem. */
function valuesDocument(context: CollectorContext, registry: SchemaRegistry, name: string, values: ValuesAccumulator): MonitDocument[] {
  try {
    const document = values.document(context.documents, registry, name);
    return document ? [document] : [];
  } catch (error) {
    context.problem(`logs: pattern '${name}': its values document was left out: ${(error as Error).message}`);
    return [];
  }
}

/** Where to start reading a file: after what was counted, or at its start when it is not the same file any more. */
async function startOffset(context: CollectorContext, file: WatchedFile, previous: FileState | undefined, fromBeginning: boolean): Promise<number> {
  if (previous) {
    if (file.size < previous.offset) {
      context.log.info(`logs: ${file.path} was truncated (${file.size} < ${previous.offset} bytes): reading it from the start`);
      return 0;
    }
    if ((await headHash(file.path, previous.headLength)) !== previous.headHash) {
      context.log.info(`logs: ${file.path} was replaced (its first bytes changed): reading it from the start`);
      return 0;
    }
    return previous.offset;
  }
  // A file seen for the first time: new since the last run (read it all), or already there when we started watching (skip its history).
  return file.appearedSinceLastRun || fromBeginning ? 0 : lastLineStart(file.path, file.size);
}

export default defineCollector({
  async collect(context) {
    const registry = schemaRegistry();
    const patterns = patternDefinitions(context.config, registry);
    const fromBeginning = context.section.bool('from_beginning', false);
    const offsets = context.state(OFFSETS_FILE, OFFSETS_STATE);
    const previous: LogsState | undefined = offsets.read();
    const nowMs = Date.now();
    const { files, filesPerPattern } = await matchedFiles(context, patterns, new Set(previous?.globs ?? []));
    const patternNames = new Set(patterns.map((pattern) => pattern.name));

    for (const [id, entry] of Object.entries(previous?.files ?? {})) {
      if (files.has(id)) continue;
      const moved = await findRotated(entry, id);
      const stillWatched = entry.patterns.filter((name) => patternNames.has(name));
      if (moved && stillWatched.length) files.set(id, { id, ...moved, patterns: new Set(stillWatched), appearedSinceLastRun: false });
    }

    const next: LogsState = { version: 1, globs: patterns.flatMap((pattern) => pattern.globs), files: {}, lastMatchMs: {} };
    const totals = new Map(patterns.map((pattern) => [pattern.name, newTally(pattern)]));
    const lastMatchMs = new Map(patterns.filter((pattern) => previous?.lastMatchMs[pattern.name] !== undefined).map((pattern) => [pattern.name, previous!.lastMatchMs[pattern.name]]));

    for (const file of inWritingOrder(files.values())) {
      const old = previous?.files[file.id];
      const applicable = patterns.filter((pattern) => file.patterns.has(pattern.name));
      // This file's counts and values join the run's only once it is read to its end: a file that fails gives none.
      const here = applicable.map((pattern) => ({ pattern, tally: newTally(pattern) }));
      try {
        const start = await startOffset(context, file, old, fromBeginning);
        const end = await readCompleteLines(
          file.path,
          start,
          file.size,
          (line) => {
            for (const { pattern, tally } of here) {
              tally.lines += 1;
              if (!tally.values) {
                if (pattern.regex.test(line)) tally.matches += 1;
                continue;
              }
              const match = pattern.regex.exec(line);
              if (!match) continue;
              tally.matches += 1;
              tally.values.add(match.groups ?? {}, file.path);
            }
          },
          context.signal,
        );
        for (const { pattern, tally } of here) {
          const total = totals.get(pattern.name)!;
          total.lines += tally.lines;
          total.matches += tally.matches;
          if (tally.values) total.values!.merge(tally.values);
          // The match is at the latest when the file was last written.
          if (tally.matches) lastMatchMs.set(pattern.name, Math.max(lastMatchMs.get(pattern.name) ?? 0, Math.min(Math.floor(file.mtimeMs), nowMs)));
        }
        const headLength = Math.min(HEAD_BYTES, file.size);
        next.files[file.id] = { path: file.path, offset: end, headHash: await headHash(file.path, headLength), headLength, patterns: [...file.patterns] };
      } catch (error) {
        if (context.signal.aborted) throw error;
        context.problem(`logs: cannot read ${file.path}: ${(error as Error).message}`);
        if (old) next.files[file.id] = old; // counted nothing from it: keep its offset for the next run
      }
    }

    const documents: MonitDocument[] = patterns.flatMap((pattern) => {
      const files = filesPerPattern.get(pattern.name)!;
      if (files === 0) context.problem(`logs: pattern '${pattern.name}': no file matches ${pattern.globs.join(', ')}`);
      const last = lastMatchMs.get(pattern.name);
      if (last !== undefined) next.lastMatchMs[pattern.name] = last;
      const { lines, matches, values } = totals.get(pattern.name)!;
      if (values?.unconverted) context.problem(`logs: pattern '${pattern.name}': ${values.unconverted} captured value(s) did not convert and were left out, the first: ${values.firstProblem}`);
      const counts = context.documents.build(LOGS_PATTERN, { pattern: pattern.name }, {
        matches,
        lines,
        files,
        last_match_age_s: last === undefined ? undefined : Math.max(0, Math.round((nowMs - last) / 1000)),
        unconverted_values: values?.unconverted,
      });
      return [counts, ...(values ? valuesDocument(context, registry, pattern.name, values) : [])];
    });
    // Offsets move on only once the counts and values are safely in the spool: a failed run is read again, never twice.
    return { documents, commit: async () => offsets.write(next) };
  },
});
