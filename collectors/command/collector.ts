import { statSync } from 'node:fs';
import pLimit from 'p-limit';
import { buildDeclared } from '../../lib/documents/declared';
import { SourceFailure, type FailureClass } from '../../lib/documents/failures';
import { schemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument } from '../../lib/documents/types';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import { redact } from '../../lib/run/log';
import { COMMAND_RESULT } from '../../schemas/kinds';
import { MalformedOutput, readValues } from './output';
import { runProcess, type ProcessResult } from './process';
import { commandDefinitions, concurrencyOf, type CommandDefinition } from './settings';

const REASON_LENGTH = 300;

/** The end of stderr, on one line, for a reason: the last lines say why a command failed. */
function stderrEnd(result: ProcessResult): string {
  const text = result.stderrTail.trim().replace(/\s*\n\s*/g, ' | ');
  if (!text) return '';
  return text.length > 200 ? `; stderr: …${text.slice(-200)}` : `; stderr: ${text}`;
}

/** Why a command that ran is down, or undefined when it ended well. */
function failureOf(command: CommandDefinition, result: ProcessResult): { errorClass: FailureClass; reason: string } | undefined {
  if (result.startError) return { errorClass: 'local', reason: result.startError };
  if (result.notStarted) return { errorClass: 'aborted', reason: "not started: the job's deadline had passed" };
  if (result.aborted) return { errorClass: 'aborted', reason: `killed at the job's deadline after ${result.durationMs} ms${stderrEnd(result)}` };
  if (result.timedOut) return { errorClass: 'timeout', reason: `killed at its timeout of ${command.timeoutMs} ms, with its children${stderrEnd(result)}` };
  if (result.signal) return { errorClass: 'exit', reason: `killed by ${result.signal}${stderrEnd(result)}` };
  if (result.exitCode !== 0) return { errorClass: 'exit', reason: `exit code ${result.exitCode}${stderrEnd(result)}` };
  return undefined;
}

/** One command: its result document (always) and its values document (when its output gave values). */
async function collectCommand(context: CollectorContext, command: CommandDefinition): Promise<MonitDocument[]> {
  const directory = command.directory ?? context.stateDir;
  const resultDocument = (fields: { up: number; exit_code?: number; duration_ms: number; output_bytes?: number; values?: number; error_class?: FailureClass; reason?: string }): MonitDocument => {
    if (fields.reason !== undefined) fields.reason = redact(fields.reason).slice(0, REASON_LENGTH);
    return context.documents.build(COMMAND_RESULT, { command: command.name }, fields);
  };
  const down = (errorClass: FailureClass, reason: string, result?: ProcessResult): MonitDocument[] => {
    // Masked here too: the end of stderr may hold a secret the command was given.
    context.problem(redact(`command '${command.name}' (${command.line}) is down (${errorClass}): ${reason}`));
    return [resultDocument({ up: 0, error_class: errorClass, reason, exit_code: result?.exitCode, duration_ms: result?.durationMs ?? 0, output_bytes: result?.stdoutBytes })];
  };
  if (!statSync(directory, { throwIfNoEntry: false })?.isDirectory()) return down('local', `its working directory ${directory} does not exist`);
  const result = await runProcess(command.argv, {
    environment: command.environment,
    directory,
    timeoutMs: command.timeoutMs,
    maxOutputBytes: command.maxOutputBytes,
    signal: context.signal,
    onKill: (why) => context.log.warn(`command '${command.name}': killed with its children at ${why === 'timeout' ? `its timeout of ${command.timeoutMs} ms` : "the job's deadline"}`),
  });
  const failure = failureOf(command, result);
  if (failure) return down(failure.errorClass, failure.reason, result);
  const ran = { exit_code: result.exitCode, duration_ms: result.durationMs, output_bytes: result.stdoutBytes };
  if (command.output === 'none') return [resultDocument({ up: 1, ...ran })];
  if (result.stdoutBytes > command.maxOutputBytes) {
    return down('malformed', `printed ${result.stdoutBytes} bytes, more than max_output_bytes = ${command.maxOutputBytes}: not read`, result);
  }
  const registry = schemaRegistry();
  try {
    const read = readValues(command, result.stdout, registry.get(COMMAND_RESULT.producer, command.measurement));
    for (const problem of read.problems) context.problem(`command '${command.name}': value ${redact(problem)}: left out`);
    // A secret the command printed is masked in the values too.
    for (const [field, value] of Object.entries(read.fields)) if (typeof value === 'string') read.fields[field] = redact(value);
    const count = Object.keys(read.fields).length;
    if (count === 0) {
      const why = [...read.problems, ...(read.nulls.length ? [`null: ${read.nulls.join(', ')}`] : [])];
      return down('mapping', `no declared value could be read: ${why.join('; ')}`, result);
    }
    const values = buildDeclared(context.documents, registry, COMMAND_RESULT.producer, command.measurement, { command: command.name }, read.fields);
    return [resultDocument({ up: 1, ...ran, values: count }), values];
  } catch (error) {
    if (error instanceof MalformedOutput) return down('malformed', error.message, result);
    if (error instanceof SourceFailure) return down(error.failureClass, error.message, result);
    throw error;
  }
}

export default defineCollector({
  async collect(context) {
    const commands = commandDefinitions(context.config);
    const limit = pLimit(concurrencyOf(context.section));
    const perCommand = await Promise.all(commands.map((command) => limit(() => collectCommand(context, command))));
    return perCommand.flat();
  },
});
