import { describe, expect, it, vi } from 'vitest';
import { startGcLoop } from '../../functions/local/gc-loop';
import { parseDuration, summarize } from '../../cli/gc';
import { formatBytes as humanBytes } from '../../cli/push/progress';
import { gcOptionsOf } from '../../functions/core/handlers/gc';
import { RegistryError } from '../../functions/core/errors';
import type { GcOptions, GcReport, GcStore } from '../../functions/core/gc/ports';
import { serialGc } from '../../functions/core/gc/serial';
import { helpText, readSettings, SettingsError } from '../../functions/local/settings';
import type { MetadataStore } from '../../functions/core/index';

describe('npm start GC settings', () => {
  it('default to an hourly pass with a 24 h window, and 0 turns the loop off', () => {
    expect(readSettings({})).toMatchObject({ gcIntervalSeconds: 3600, gcMinAgeSeconds: 86400 });
    expect(readSettings({ NIMBUS_GC_INTERVAL: '0', NIMBUS_GC_MIN_AGE: '0' })).toMatchObject({ gcIntervalSeconds: 0, gcMinAgeSeconds: 0 });
    expect(readSettings({ NIMBUS_GC_INTERVAL: '600', NIMBUS_GC_MIN_AGE: '3600' })).toMatchObject({ gcIntervalSeconds: 600, gcMinAgeSeconds: 3600 });
  });

  it('refuse values that are not whole seconds in range, naming the setting', () => {
    for (const [name, value] of [['NIMBUS_GC_INTERVAL', '-1'], ['NIMBUS_GC_INTERVAL', '1h'], ['NIMBUS_GC_MIN_AGE', '1.5'], ['NIMBUS_GC_MIN_AGE', '999999999999']]) {
      expect(() => readSettings({ [name!]: value }), `${name}=${value}`).toThrow(SettingsError);
      expect(() => readSettings({ [name!]: value })).toThrow(name!);
    }
  });

  it('are listed by --help', () => {
    expect(helpText()).toContain('NIMBUS_GC_INTERVAL');
    expect(helpText()).toContain('NIMBUS_GC_MIN_AGE');
  });
});

describe('npx nimbus gc --min-age', () => {
  it('takes 0, seconds and s/m/h/d durations', () => {
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
  });

  it('refuses anything else with an example of what it takes', () => {
    for (const bad of ['', '-1', '1.5h', '1w', 'h', '24 h', '99999d']) expect(() => parseDuration(bad), bad).toThrow(/--min-age/);
  });

  it('summarises a report with human-readable sizes', () => {
    expect(humanBytes(512)).toBe('512 B');
    expect(humanBytes(1536)).toBe('1.5 KiB');
    expect(humanBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
    const report: GcReport = {
      dryRun: false, full: false, complete: true, durationMs: 1250, reviewed: 7, blobsDeleted: 3, bytesFreed: 3 * 1024 * 1024,
      deleted: [], referrersDeleted: 1, uploadsSwept: 2, uploadBytesFreed: 1024 * 1024, orphansDeleted: 0, orphanBytesFreed: 0,
    };
    const text = summarize(report, 'http://127.0.0.1:5000');
    expect(text).toContain('freed 4.0 MiB in 1.3 s');
    expect(text).toContain('blobs deleted: 3 (3.0 MiB)');
    expect(text).toContain('abandoned uploads: 2');
  });
});

describe('POST /v2/_nimbus/gc query', () => {
  it('maps dryRun, full and minAge (seconds) to pass options', () => {
    expect(gcOptionsOf(new URLSearchParams(''))).toEqual({ dryRun: false, full: false });
    expect(gcOptionsOf(new URLSearchParams('dryRun=1&full=true&minAge=90'))).toEqual({ dryRun: true, full: true, minAgeMs: 90_000 });
    expect(gcOptionsOf(new URLSearchParams('dryRun=0&minAge=0'))).toEqual({ dryRun: false, full: false, minAgeMs: 0 });
  });

  it('throws a 400 RegistryError for values it cannot mean', () => {
    for (const query of ['minAge=', 'minAge=-5', 'minAge=2d', 'dryRun=yes', 'other=1']) {
      const error = (() => {
        try {
          gcOptionsOf(new URLSearchParams(query));
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error, query).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).status).toBe(400);
    }
  });
});

describe('GC passes of one registry', () => {
  it('never overlap: a pass asked for while one runs starts after it', async () => {
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const gc = {
      dueReviews: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return { items: [] };
      },
      sweepUploads: async () => ({ uploads: 0, bytes: 0 }),
    } as unknown as GcStore;
    const passes = serialGc({ gc, metadata: {} as MetadataStore, clock: { now: () => 0 } });
    const options: GcOptions = { minAgeMs: 0 };
    const all = Promise.all([passes.run(options), passes.run(options), passes.run(options)]);
    expect(passes.busy).toBe(true);
    for (let released = 0; released < 3; released++) {
      while (releases.length === 0) await new Promise((resolve) => setImmediate(resolve));
      releases.shift()!();
    }
    expect((await all).map((report) => report.complete)).toEqual([true, true, true]);
    expect(most).toBe(1);
    expect(passes.busy).toBe(false);
  });
});

describe('npm start background GC loop', () => {
  it('runs a pass per interval with the configured window, skips a tick while one runs, and 0 is off', async () => {
    vi.useFakeTimers();
    try {
      const calls: GcOptions[] = [];
      let finish: (() => void) | undefined;
      const passes = {
        busy: false,
        onReport() {},
        run(options: GcOptions) {
          calls.push(options);
          passes.busy = true;
          return new Promise<GcReport>((resolve) => {
            finish = () => {
              passes.busy = false;
              resolve({} as GcReport);
            };
          });
        },
      };
      const logger = { log() {} };
      expect(startGcLoop({ passes, intervalSeconds: 0, minAgeSeconds: 60, logger })).toBeTypeOf('function');
      await vi.advanceTimersByTimeAsync(10_000_000);
      expect(calls).toHaveLength(0);

      const stop = startGcLoop({ passes, intervalSeconds: 600, minAgeSeconds: 3600, logger });
      await vi.advanceTimersByTimeAsync(599_000);
      expect(calls).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(calls).toEqual([{ minAgeMs: 3_600_000 }]);
      await vi.advanceTimersByTimeAsync(600_000); // still running: this tick is skipped
      expect(calls).toHaveLength(1);
      finish!();
      await vi.advanceTimersByTimeAsync(600_000);
      expect(calls).toHaveLength(2);
      stop();
      finish!();
      await vi.advanceTimersByTimeAsync(6_000_000);
      expect(calls).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
