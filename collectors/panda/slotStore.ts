import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { writeFileDurably } from '../../lib/state/durableFile';

export const SLOT_STORE_FILE = 'derived-raw-slots.bin';

/** The layout of the file; another version is read as an empty store. */
const FORMAT = 1;
/** A value stored as this is absent (no point in that slot). */
const ABSENT = 0xffff;
/** A value stored as this is in `overflow` (too large, or not a whole number). */
const OVERFLOWED = 0xfffe;

interface Header {
  format: number;
  slots: number;
  /** The settings the values were read under (which statuses are window counts). */
  fingerprint: string;
  /** The slot each ring column holds (NaN: none), and whether its read found any point. */
  columnSlotMs: Array<number | null>;
  columnHasData: boolean[];
  keys: string[];
  overflow: Array<[number, number]>;
}

/**
 * The raw values of the last `slots` 10-minute slots of every series (job counts), kept in the state folder,
 * so that a run reads from InfluxDB only the newest slots and computes the raw windows' means itself: a grouped
 * mean() costs InfluxDB the GROUP BY over every series whatever the window, while the newest points without
 * GROUP BY are cheap to produce. Values are 16-bit, larger ones kept aside.
 * A run at slot S holds the slots up to S itself: its windows end with the current point (QMonit's averages).
 */
export class SlotStore {
  private readonly rowOf = new Map<string, number>();
  private keys: string[] = [];
  private values: Uint16Array;
  private readonly overflow = new Map<number, number>();
  private readonly columnSlotMs: Float64Array;
  private readonly columnHasData: Uint8Array;

  private constructor(
    readonly slots: number,
    private readonly fingerprint: string,
    /** Where it is saved; none: kept in memory only (no state folder, or a dry run). */
    private readonly file: string | undefined,
  ) {
    this.values = new Uint16Array(0);
    this.columnSlotMs = new Float64Array(slots).fill(NaN);
    this.columnHasData = new Uint8Array(slots);
  }

  /** A store kept in memory only, empty (no state folder). */
  static inMemory(slots: number, fingerprint: string): SlotStore {
    return new SlotStore(slots, fingerprint, undefined);
  }

  /**
   * The store of `stateDir`; absent, damaged or made for other settings: an empty one. Not `writable` (a dry
   * run): read, but never saved.
   */
  static async open(stateDir: string, slots: number, fingerprint: string, writable = true): Promise<SlotStore> {
    const file = path.join(stateDir, SLOT_STORE_FILE);
    const target = writable ? file : undefined;
    const store = new SlotStore(slots, fingerprint, target);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      return store; // no store yet
    }
    try {
      store.load(bytes);
    } catch {
      return new SlotStore(slots, fingerprint, target); // damaged: start again
    }
    return store;
  }

  private load(bytes: Buffer): void {
    const headerLength = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Header;
    if (header.format !== FORMAT || header.slots !== this.slots || header.fingerprint !== this.fingerprint) return;
    const dataStart = 8 + headerLength + (headerLength % 2);
    const rows = header.keys.length;
    if (bytes.length !== dataStart + rows * this.slots * 2 || header.columnSlotMs.length !== this.slots) throw new Error('damaged');
    // A view of the file's bytes when aligned (no second copy of the largest part), else a copy.
    const offset = bytes.byteOffset + dataStart;
    this.values = offset % 2 === 0 ? new Uint16Array(bytes.buffer, offset, rows * this.slots) : new Uint16Array(new Uint8Array(bytes.subarray(dataStart)).buffer);
    this.keys = header.keys;
    header.keys.forEach((key, row) => this.rowOf.set(key, row));
    for (const [index, value] of header.overflow) this.overflow.set(index, value);
    header.columnSlotMs.forEach((slotMs, column) => (this.columnSlotMs[column] = slotMs ?? NaN));
    header.columnHasData.forEach((hasData, column) => (this.columnHasData[column] = hasData ? 1 : 0));
  }

  private columnOf(slotMs: number): number {
    return Math.floor(slotMs / TEN_MINUTES_MS) % this.slots;
  }

  /** Whether slot `slotMs` was read, and found points. */
  hasData(slotMs: number): boolean {
    return this.wasRead(slotMs) && this.columnHasData[this.columnOf(slotMs)] === 1;
  }

  /** Whether slot `slotMs` was read (with or without points). */
  wasRead(slotMs: number): boolean {
    return this.columnSlotMs[this.columnOf(slotMs)] === slotMs;
  }

  /** Starts reading slots [fromMs, toMs) again: what they held is forgotten. */
  beginRead(fromMs: number, toMs: number): void {
    for (let slotMs = fromMs; slotMs < toMs; slotMs += TEN_MINUTES_MS) {
      const column = this.columnOf(slotMs);
      for (let row = 0; row < this.keys.length; row++) {
        const index = row * this.slots + column;
        this.values[index] = ABSENT;
        this.overflow.delete(index);
      }
      this.columnSlotMs[column] = slotMs;
      this.columnHasData[column] = 0;
    }
  }

  /** Keeps the value of one series at `timeMs` (in a slot being read; the last point of a slot counts). */
  put(key: string, timeMs: number, value: number): void {
    const slotMs = timeMs - (timeMs % TEN_MINUTES_MS);
    const column = this.columnOf(slotMs);
    if (this.columnSlotMs[column] !== slotMs) return; // not a slot being read
    let row = this.rowOf.get(key);
    if (row === undefined) row = this.addRow(key);
    const index = row * this.slots + column;
    if (Number.isInteger(value) && value >= 0 && value < OVERFLOWED) {
      this.values[index] = value;
      this.overflow.delete(index);
    } else {
      this.values[index] = OVERFLOWED;
      this.overflow.set(index, value);
    }
    this.columnHasData[column] = 1;
  }

  /** Makes room for `rows` series at least, so that a first run's 100,000 new series do not grow it step by step. */
  reserve(rows: number): void {
    if (rows * this.slots <= this.values.length) return;
    const grown = new Uint16Array(rows * this.slots).fill(ABSENT);
    grown.set(this.values.subarray(0, this.keys.length * this.slots));
    this.values = grown;
  }

  private addRow(key: string): number {
    const row = this.keys.length;
    if ((row + 1) * this.slots > this.values.length) this.reserve(Math.max(1024, Math.ceil((row + 1) * 1.5)));
    this.values.fill(ABSENT, row * this.slots, (row + 1) * this.slots);
    // Columns hold slots for the rows that existed when they were read: a new row has nothing there.
    this.keys.push(key);
    this.rowOf.set(key, row);
    return row;
  }

  /** The oldest slot from which every slot up to `beforeMs` (excluded) was read, looking back at most `slots` slots. */
  heldFrom(beforeMs: number): number {
    let slotMs = beforeMs - TEN_MINUTES_MS;
    while (slotMs >= beforeMs - this.slots * TEN_MINUTES_MS && this.wasRead(slotMs)) slotMs -= TEN_MINUTES_MS;
    return slotMs + TEN_MINUTES_MS;
  }

  /** Whether every slot of the window ending with `slotMs`, [slot + 10 min − duration, slot + 10 min), was read. */
  holds(slotMs: number, durationMs: number): boolean {
    const endMs = slotMs + TEN_MINUTES_MS;
    return this.heldFrom(endMs) <= endMs - durationMs;
  }

  /**
   * The ranges of slots a run at `slotMs` reads, as [from, to) pairs, the slot itself included:
   * - the last `recentMs` up to the slot (points can arrive late: a spool replayed after an outage), back to the
   *   oldest slot of the last `lateMs` that had no point when it was read;
   * - up to `fillMs` more before what is held, until the store holds all its slots; not on a first run (nothing
   *   read yet), the costliest run of all, which reads its other windows with mean() anyway.
   */
  planReads(slotMs: number, options: { recentMs: number; lateMs: number; fillMs: number }): Array<[number, number]> {
    const endMs = slotMs + TEN_MINUTES_MS;
    let recentFrom = endMs - options.recentMs;
    for (let candidate = endMs - options.lateMs; candidate < recentFrom; candidate += TEN_MINUTES_MS) {
      if (this.wasRead(candidate) && !this.hasData(candidate)) {
        recentFrom = candidate;
        break;
      }
    }
    const oldest = endMs - this.slots * TEN_MINUTES_MS;
    if (!this.columnSlotMs.some((readSlotMs) => readSlotMs >= oldest)) return [[recentFrom, endMs]];
    const heldFrom = Math.max(oldest, this.heldFrom(recentFrom));
    if (heldFrom <= oldest) return [[recentFrom, endMs]];
    const fillFrom = Math.max(oldest, heldFrom - options.fillMs);
    // Nothing held before the recent slots: one range.
    return heldFrom === recentFrom ? [[fillFrom, endMs]] : [[fillFrom, heldFrom], [recentFrom, endMs]];
  }

  /**
   * For each series and each window ending with the slot, [slot + 10 min − duration, slot + 10 min), that the
   * store holds whole, the mean of the points there (none: nothing taken), and its coverage: the share of the
   * window's slots with data (panda ran) in which the series has a point. `durationsMs` shortest first.
   */
  means(slotMs: number, durationsMs: number[], take: (key: string, window: number, mean: number, coverage: number) => void): void {
    const held = [...durationsMs.keys()].filter((window) => this.holds(slotMs, durationsMs[window]));
    if (held.length === 0) return;
    /** Slots back from `slotMs` at which each held window ends. */
    const ends = held.map((window) => durationsMs[window] / TEN_MINUTES_MS);
    // The columns of `slotMs` and the slots before it, newest first (-1: a slot the column does not hold).
    const slotsBack = ends[ends.length - 1];
    const columns = Array.from({ length: slotsBack }, (_, back) => {
      const slot = slotMs - back * TEN_MINUTES_MS;
      return this.wasRead(slot) ? this.columnOf(slot) : -1;
    });
    // Slots with data in each window: a series' missing point there means it had no job.
    const slotsWithData = ends.map((end) => columns.slice(0, end).filter((column) => column >= 0 && this.columnHasData[column] === 1).length);
    for (let row = 0; row < this.keys.length; row++) {
      const base = row * this.slots;
      let sum = 0;
      let count = 0;
      let window = 0;
      for (let back = 0; back < slotsBack; back++) {
        const column = columns[back];
        if (column >= 0) {
          const stored = this.values[base + column];
          if (stored !== ABSENT) {
            sum += stored === OVERFLOWED ? (this.overflow.get(base + column) ?? 0) : stored;
            count++;
          }
        }
        while (window < ends.length && back + 1 === ends[window]) {
          if (count > 0) take(this.keys[row], held[window], sum / count, count / Math.max(count, slotsWithData[window]));
          window++;
        }
      }
    }
  }

  /** Whether the row has a point in any of the last `slots` slots up to `slotMs`. */
  private live(row: number, slotMs: number): boolean {
    const endMs = slotMs + TEN_MINUTES_MS;
    for (let column = 0; column < this.slots; column++) {
      const slot = this.columnSlotMs[column];
      if (slot >= endMs - this.slots * TEN_MINUTES_MS && slot < endMs && this.values[row * this.slots + column] !== ABSENT) return true;
    }
    return false;
  }

  /**
   * Writes the store durably (temporary file, fsync, rename), without the series that have no point left in the
   * last `slots` slots up to `slotMs`. Nothing when it has no file (in memory, or a dry run).
   */
  save(slotMs: number): void {
    if (!this.file) return;
    const liveRows: number[] = [];
    const positionOf = new Int32Array(this.keys.length).fill(-1);
    for (let row = 0; row < this.keys.length; row++) {
      if (!this.live(row, slotMs)) continue;
      positionOf[row] = liveRows.length;
      liveRows.push(row);
    }
    // Every row live (the usual case): the values are written as they are, without a copy.
    const values =
      liveRows.length === this.keys.length ? this.values.subarray(0, this.keys.length * this.slots) : new Uint16Array(liveRows.length * this.slots);
    if (liveRows.length < this.keys.length) {
      liveRows.forEach((row, position) => values.set(this.values.subarray(row * this.slots, (row + 1) * this.slots), position * this.slots));
    }
    const overflow: Array<[number, number]> = [];
    for (const [index, value] of this.overflow) {
      const position = positionOf[Math.floor(index / this.slots)];
      if (position >= 0) overflow.push([position * this.slots + (index % this.slots), value]);
    }
    const header: Header = {
      format: FORMAT,
      slots: this.slots,
      fingerprint: this.fingerprint,
      columnSlotMs: Array.from(this.columnSlotMs, (value) => (Number.isNaN(value) ? null : value)),
      columnHasData: Array.from(this.columnHasData, (value) => value === 1),
      keys: liveRows.map((row) => this.keys[row]),
      overflow,
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32LE(headerBytes.length, 0);
    const padding = Buffer.alloc(headerBytes.length % 2);
    // In parts: the values are written as they are, without a joined copy of the whole file.
    writeFileDurably(this.file, [prefix, headerBytes, padding, new Uint8Array(values.buffer, values.byteOffset, values.byteLength)]);
  }
}
