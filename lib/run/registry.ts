/**
 * The shape of the job registry (cli/registry.ts): every job, service and command with its kind,
 * schedule, deadline and node flags. `./run.sh --help`, the crontab, the scheduler, the quickstart
 * and `./run.sh stop` all read that one table.
 */
import type { Config } from '../config/config';
import type { PeriodicJob } from './jobRunner';

/** The command line of one run: ./run.sh <job> [options] [arguments]. */
export interface RunArguments {
  job?: string;
  config?: string;
  dryRun: boolean;
  debug: boolean;
  help: boolean;
  timestamp?: string;
  from?: string;
  to?: string;
  /** `systemd-units`: user units (`systemctl --user`), and the folder to write them into. */
  user?: boolean;
  output?: string;
  /** Positional arguments after the job name (e.g. the file of `send`). */
  rest: string[];
}

interface EntryBase {
  name: string;
  /** One line for `./run.sh --help`. */
  description: string;
  /**
   * When it runs by itself: a five-field cron expression, or '@reboot' for a service started at boot.
   * Undefined: only when run by hand. `[schedule] <name> = <cron>` overrides it.
   */
  schedule?: string;
  /**
   * The config section without which it is not scheduled (collectors and receivers: no section, not
   * configured). Every entry is also off with `[<name>] enabled = false`.
   */
  needsSection?: string;
  /** Config sections it reads besides the shared ones and its own [<name>] and [<name>.*]. */
  sections?: readonly string[];
}

/** A job run periodically by the runner: it returns documents and sends a heartbeat. */
export interface PeriodicEntry extends EntryBase {
  kind: 'collector' | 'job';
  /** Deadline unless `[<name>] deadline` says otherwise; shorter than the period. */
  defaultDeadline: string;
  /** Node flags it runs with, however it is started (cli/main.ts starts the job again with them). */
  nodeFlags?: readonly string[];
  /** The run fails unless all it sent, its heartbeat included, reached the endpoint (a check of the path, not data). */
  requiresDelivery?: boolean;
  /** Its README, for `./run.sh --help`. */
  readme?: string;
  /** Loads the job (its modules load only when it runs). */
  load(args: RunArguments): Promise<PeriodicJob>;
}

/** A long-running process (the gateway, a receiver): runs until SIGTERM or SIGINT. */
export interface ServiceEntry extends EntryBase {
  kind: 'service';
  /** Resolves with the exit status once stopped. */
  serve(config: Config, args: RunArguments): Promise<number>;
  /** When the quickstart may treat the freshly started service as up (default: it stayed alive a moment). */
  ready?(config: Config): Promise<boolean>;
}

/** A one-shot command run by hand (or by the schedule, like replay). */
export interface CommandEntry extends EntryBase {
  kind: 'command';
  /** How it is called, when it takes arguments, e.g. "send FILE". */
  usage?: string;
  /** A shell script that run.sh starts itself (before anything is built); else `run`. */
  script?: string;
  run?(args: RunArguments): Promise<number>;
}

export type RegistryEntry = PeriodicEntry | ServiceEntry | CommandEntry;
