import { MultiBar, Presets, type SingleBar } from 'cli-progress';

/** Byte counts as people read them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** Counts bytes of one phase (reading the source, uploading) toward a known or unknown total. */
export interface Meter {
  /** `label` names what the bytes belong to (a layer). Negative deltas undo a failed attempt. */
  add(delta: number, label?: string): void;
  stop(): void;
}

export interface Progress {
  /** A line of its own (above the bar on a terminal). */
  line(text: string): void;
  meter(title: string, total: number | undefined): Meter;
  /** Takes the bar off the terminal before an error is printed. */
  close(): void;
}

export type ProgressMode = 'auto' | 'bar' | 'plain' | 'quiet';

/** A bar on a terminal; plain lines in CI logs (every 10%, or every 64 MiB of an unknown total). */
export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (mode === 'quiet') return { line() {}, meter: () => ({ add() {}, stop() {} }), close() {} };
  if (mode === 'bar' || (mode === 'auto' && stream.isTTY)) return new BarProgress(stream);
  return new PlainProgress(stream);
}

class PlainProgress implements Progress {
  constructor(private readonly stream: NodeJS.WritableStream) {}

  line(text: string): void {
    this.stream.write(`${text}\n`);
  }

  meter(title: string, total: number | undefined): Meter {
    let value = 0;
    let reported = 0;
    const step = total ? total / 10 : 64 * 1024 * 1024;
    return {
      add: (delta, label) => {
        value += delta;
        if (value - reported < step) return;
        // Report the last whole step crossed, so lines come at 10%, 20%, ... exactly.
        reported = Math.floor(value / step) * step;
        const of = total ? ` (${Math.round((100 * value) / total)}%, ${formatBytes(value)} of ${formatBytes(total)})` : ` ${formatBytes(value)}`;
        this.line(`${title}${of}${label ? ` ${label}` : ''}`);
      },
      stop: () => {},
    };
  }

  close(): void {}
}

/** One cli-progress bar per meter; lines are printed above it while it runs. */
class BarProgress implements Progress {
  private bars: MultiBar | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  line(text: string): void {
    if (!this.bars) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.bars.log(`${text}\n`);
    this.bars.update(); // flushes the line now, not at the next frame
  }

  meter(title: string, total: number | undefined): Meter {
    this.close();
    const bars = new MultiBar({
      stream: this.stream, hideCursor: true, clearOnComplete: false, fps: 8, barsize: 30, noTTYOutput: !this.stream.isTTY,
      format: total === undefined ? '{title} {done} {label}' : '{title} [{bar}] {percentage}% | {done} of {size} | {label}',
    }, Presets.shades_classic);
    this.bars = bars;
    let value = 0;
    const bar: SingleBar = bars.create(total ?? 0, 0, { title, done: formatBytes(0), size: total === undefined ? '' : formatBytes(total), label: '' });
    return {
      add: (delta, label) => {
        value += delta;
        bar.update(value, { done: formatBytes(value), ...(label ? { label } : {}) });
      },
      stop: () => {
        bar.update(value, { done: formatBytes(value), label: 'done' });
        if (this.bars === bars) this.close();
      },
    };
  }

  close(): void {
    this.bars?.update();
    this.bars?.stop();
    this.bars = undefined;
  }
}
