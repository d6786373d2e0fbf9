import { readFileSync } from 'node:fs';
import path from 'node:path';
import ini from 'ini';
import { registerSecret } from '../run/log';
import { PROJECT_ROOT } from './paths';
import { parseDuration } from '../run/slot';

/** A config problem, always naming the file, section and key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** One [section] of the ini file, with typed accessors that fail with the key's name. */
export class ConfigSection {
  constructor(
    readonly name: string,
    private readonly values: Record<string, string>,
    private readonly file: string,
    /** Keys the program asked for, so keys nobody reads (typos) can be reported. */
    private readonly read: Set<string> = new Set(),
  ) {}

  private mark(key: string): void {
    this.read.add(key);
  }

  private where(key: string): string {
    return `${this.at()} ${key}`;
  }

  /** "<file>: [<section>]", the start of a message about this section. */
  at(): string {
    return `${this.file}: [${this.name}]`;
  }

  /** A ConfigError about `key`'s value, naming the file and section as the typed getters do: "<file>: [<section>] <key> <message>". */
  invalid(key: string, message: string): ConfigError {
    return new ConfigError(`${this.where(key)} ${message}`);
  }

  has(key: string): boolean {
    this.mark(key);
    return this.values[key] !== undefined && this.values[key] !== '';
  }

  keys(): string[] {
    for (const key of Object.keys(this.values)) this.mark(key);
    return Object.keys(this.values);
  }

  /** All key/value pairs, for sections that are open maps (e.g. domain = site tables). */
  entries(): Array<[string, string]> {
    for (const key of Object.keys(this.values)) this.mark(key);
    return Object.entries(this.values);
  }

  private raw(key: string, fallback: string | undefined): string {
    this.mark(key);
    const value = this.has(key) ? this.values[key] : fallback;
    if (value === undefined) throw new ConfigError(`${this.where(key)} is missing`);
    return value;
  }

  string(key: string, fallback?: string): string {
    return this.raw(key, fallback);
  }

  optionalString(key: string): string | undefined {
    this.mark(key);
    return this.has(key) ? this.values[key] : undefined;
  }

  /** A password or token: never logged. */
  secret(key: string, fallback?: string): string {
    const value = this.raw(key, fallback);
    registerSecret(value);
    return value;
  }

  optionalSecret(key: string): string | undefined {
    return this.has(key) ? this.secret(key) : undefined;
  }

  number(key: string, fallback?: number, range: { min?: number; max?: number } = {}): number {
    const text = this.raw(key, fallback === undefined ? undefined : String(fallback));
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new ConfigError(`${this.where(key)} must be a number, got "${text}"`);
    if (range.min !== undefined && value < range.min) throw new ConfigError(`${this.where(key)} must be at least ${range.min}, got ${value}`);
    if (range.max !== undefined && value > range.max) throw new ConfigError(`${this.where(key)} must be at most ${range.max}, got ${value}`);
    return value;
  }

  int(key: string, fallback?: number, range: { min?: number; max?: number } = {}): number {
    const value = this.number(key, fallback, range);
    if (!Number.isInteger(value)) throw new ConfigError(`${this.where(key)} must be a whole number, got ${value}`);
    return value;
  }

  bool(key: string, fallback?: boolean): boolean {
    const text = this.raw(key, fallback === undefined ? undefined : String(fallback)).toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(text)) return true;
    if (['false', 'no', 'off', '0'].includes(text)) return false;
    throw new ConfigError(`${this.where(key)} must be true or false, got "${text}"`);
  }

  /** A duration such as 30s, 10m, 1h or 7d, in milliseconds. */
  duration(key: string, fallback?: string): number {
    const text = this.raw(key, fallback);
    try {
      return parseDuration(text);
    } catch (error) {
      throw new ConfigError(`${this.where(key)}: ${(error as Error).message}`);
    }
  }

  url(key: string, fallback?: string): string {
    const text = this.raw(key, fallback);
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new ConfigError(`${this.where(key)} must be a URL such as http://127.0.0.1:8186, got "${text}"`);
    }
    if (!['http:', 'https:'].includes(parsed.protocol)) throw new ConfigError(`${this.where(key)} must be an http or https URL, got "${text}"`);
    return text;
  }

  /** host:port, e.g. for a listen address. */
  hostPort(key: string, fallback?: string): { host: string; port: number } {
    const text = this.raw(key, fallback);
    const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text.trim());
    const port = match ? Number(match[2]) : NaN;
    if (!match || !match[1] || port > 65535) throw new ConfigError(`${this.where(key)} must be host:port such as 127.0.0.1:8190, got "${text}"`);
    return { host: match[1], port };
  }

  /** A list separated by commas or new lines; empty items dropped. */
  list(key: string, fallback?: string[]): string[] {
    const text = this.raw(key, fallback?.join(','));
    return text.split(/[,\n]/).map((item) => item.trim()).filter(Boolean);
  }

  /** Keys another job reads from this section (a section shared by two jobs): not typos for this one. */
  acknowledge(keys: readonly string[]): void {
    for (const key of keys) this.mark(key);
  }

  /** A list of NAME=VALUE items (e.g. host=SITE), as a map; `shape` names the form in the error, e.g. "name=SITE". */
  pairs(key: string, shape = 'name=VALUE'): Map<string, string> {
    const result = new Map<string, string>();
    for (const item of this.list(key, [])) {
      const at = item.lastIndexOf('=');
      if (at <= 0 || at === item.length - 1) throw new ConfigError(`${this.where(key)} items must be ${shape}, got "${item}"`);
      result.set(item.slice(0, at).trim(), item.slice(at + 1).trim());
    }
    return result;
  }

  /** Keys of this section that nothing has read so far: usually typos. */
  unreadKeys(): string[] {
    return Object.keys(this.values).filter((key) => !this.read.has(key));
  }

  /** A path, relative to the project root unless absolute. */
  path(key: string, fallback?: string): string {
    return path.resolve(PROJECT_ROOT, this.raw(key, fallback));
  }
}

/** The whole ini file. Missing sections read as empty, so defaults apply. */
export class Config {
  private readonly readKeys = new Map<string, Set<string>>();

  private constructor(
    readonly file: string,
    private readonly sections: Map<string, Record<string, string>>,
  ) {}

  static parse(text: string, file = 'config'): Config {
    const parsed = ini.parse(text) as Record<string, unknown>;
    const sections = new Map<string, Record<string, string>>();
    const visit = (prefix: string, object: Record<string, unknown>): void => {
      const values: Record<string, string> = {};
      for (const [key, value] of Object.entries(object)) {
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
          visit(prefix ? `${prefix}.${key}` : key, value as Record<string, unknown>);
        } else if (prefix) {
          values[key] = Array.isArray(value) ? value.join(',') : String(value);
        } else {
          throw new ConfigError(`${file}: key '${key}' is outside any [section]`);
        }
      }
      if (prefix) sections.set(prefix, { ...(sections.get(prefix) ?? {}), ...values });
    };
    visit('', parsed);
    return new Config(file, sections);
  }

  static load(file: string): Config {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        code === 'ENOENT'
          ? `config file ${file} not found: copy config.cfg.example to config.cfg, or run ./run.sh quickstart`
          : `cannot read config file ${file}: ${(error as Error).message}`,
      );
    }
    return Config.parse(text, file);
  }

  /** The config for a run: --config FILE, else config.cfg in the project root. */
  static loadDefault(file?: string): Config {
    return Config.load(file ? path.resolve(file) : path.join(PROJECT_ROOT, 'config.cfg'));
  }

  section(name: string): ConfigSection {
    let read = this.readKeys.get(name);
    if (!read) {
      read = new Set();
      this.readKeys.set(name, read);
    }
    return new ConfigSection(name, this.sections.get(name) ?? {}, this.file, read);
  }

  sectionNames(): string[] {
    return [...this.sections.keys()];
  }

  /** Sections something has read at least one key of. */
  touchedSections(): string[] {
    return [...this.readKeys.entries()].filter(([name, keys]) => keys.size > 0 && this.sections.has(name)).map(([name]) => name);
  }

  /** The keys of a section as written, without counting them as read. */
  sectionKeys(name: string): string[] {
    return Object.keys(this.sections.get(name) ?? {});
  }

  hasSection(name: string): boolean {
    return this.sections.has(name);
  }

  /** Sections named `<prefix>.<something>`, e.g. all [status.rule.*]. */
  sectionsUnder(prefix: string): ConfigSection[] {
    return [...this.sections.keys()].filter((name) => name.startsWith(`${prefix}.`)).map((name) => this.section(name));
  }
}
