import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';

/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. the gateway's from `BENCH_CPU_PROF=DIR node
 * dist/bench/gateway.js`): self time by function, by file and by area (this project's code, each npm
 * package, Node's internals, garbage collection, idle). Usage: `node dist/bench/gatewayProfile.js
 * FILE.cpuprofile|DIR [TOP]`; a DIR means its newest profile. Idle time is listed but left out of
 * the shares, which are of the time the process was busy.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a sample's code lives: this project's file, an npm package, or Node itself. */
function fileOf(url: string): string {
  if (url === '') return '(V8 / native)';
  if (url.startsWith('node:')) return url;
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = file.slice(modules + '/node_modules/'.length).split('/');
    return `npm ${scope.startsWith('@') ? `${scope}/${name}` : scope}`;
  }
  return path.relative(PROJECT_ROOT, file);
}

function areaOf(file: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return 'idle';
  if (file.startsWith('npm ')) return file;
  if (file.startsWith('node:')) return 'Node internals';
  if (file === '(V8 / native)') return 'V8 / native (builtins, JSON, regexps)';
  return 'this project';
}

function newestProfile(target: string): string {
  if (!statSync(target).isDirectory()) return target;
  const files = readdirSync(target)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => path.join(target, name));
  if (files.length === 0) throw new Error(`${target}: no .cpuprofile file`);
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

function table(title: string, totals: Map<string, number>, busyMicroseconds: number, top: number): void {
  console.log(`\n${title}`);
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, microseconds] of rows) {
    const share = name === 'idle' ? '      ' : `${((microseconds / busyMicroseconds) * 100).toFixed(1).padStart(5)}%`;
    console.log(`  ${share} ${(microseconds / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
}

function main(): void {
  const [target, topText = '30'] = process.argv.slice(2);
  if (!target) throw new Error('usage: gatewayProfile.js FILE.cpuprofile|DIR [TOP]');
  const file = newestProfile(target);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, index) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busy = 0;
  const keyOf = (id: number): string => {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
    return `${functionName || '(anonymous)'} ${fileOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
  };
  // Inclusive: a sample counts once for every function on its stack (once only for a recursive one).
  const inclusive = new Map<string, number>();
  for (const [id, microseconds] of selfTime) {
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) onStack.add(keyOf(at));
    for (const key of onStack) inclusive.set(key, (inclusive.get(key) ?? 0) + microseconds);
  }
  for (const [id, microseconds] of selfTime) {
    const { functionName, url } = (byId.get(id) as ProfileNode).callFrame;
    const where = fileOf(url);
    const area = areaOf(where, functionName);
    if (area !== 'idle') busy += microseconds;
    const functionKey = keyOf(id);
    byFunction.set(functionKey, (byFunction.get(functionKey) ?? 0) + microseconds);
    byFile.set(area === 'idle' ? 'idle' : where, (byFile.get(area === 'idle' ? 'idle' : where) ?? 0) + microseconds);
    byArea.set(area, (byArea.get(area) ?? 0) + microseconds);
  }
  console.log(`${file}: ${(busy / 1000).toFixed(0)} ms busy (shares below are of the busy time)`);
  const top = Number(topText);
  table('by area', byArea, busy, top);
  table('by file', byFile, busy, top);
  table('by function (self time)', byFunction, busy, top);
  inclusive.delete(keyOf(profile.nodes[0].id)); // the root: every sample
  table('by function (inclusive: with what it calls)', inclusive, busy, top);
}

main();
