/**
 * The hinted-handoff settings every service that takes part declares the same way: `--nats` (off
 * when empty), `--hint-window` and, on storage nodes, `--hint-throttle`.
 */
import type { SettingSpec } from '@quorumkv/service-kit';
import { DEFAULT_HINT_WINDOW_MS } from './hint-queue.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration: a number with a unit (`ms`, `s`, `m`, `h`), e.g. `3h`, `90s`; a bare
 * number is milliseconds.
 * @throws Error naming what is accepted (the config reader adds the setting).
 */
export function parseDurationMs(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
  const unit = UNITS[m?.[2] ?? 'ms'];
  if (m === null || unit === undefined) throw new Error(`"${raw}" is not a duration: use a number with ms, s, m or h (e.g. 3h)`);
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 1) throw new Error(`"${raw}" is not a positive duration`);
  return ms;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 * 1024, mib: 1024 * 1024 };

/** Parses a byte rate: `1024KiB`, `2MiB`, `65536` (bytes). @throws Error naming what is accepted. */
export function parseBytes(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) throw new Error(`"${raw}" is not a byte count: use a number with B, KiB or MiB (e.g. 1024KiB)`);
  const n = Math.round(Number(m[1]) * unit);
  if (n < 1) throw new Error(`"${raw}" must be at least 1 byte`);
  return n;
}

/** `--nats URL[,URL…]`: the NATS servers holding the hint stream; empty turns hinted handoff off. */
export function natsSetting(env: string): SettingSpec<string> {
  return {
    flag: '--nats',
    env,
    description: 'NATS server URL(s) with JetStream for hinted handoff, e.g. nats://127.0.0.1:4222 (empty: hinted handoff off, said at start-up)',
    default: '',
    defaultText: '(off)',
    parse: (raw) => raw.trim(),
  };
}

/** `--hint-window`: how long a node may be down and still get hints (Cassandra's max_hint_window). */
export function hintWindowSetting(env: string): SettingSpec<number> {
  return {
    flag: '--hint-window',
    env,
    description: 'Hint window: past it no new hints are written for a down node (its ranges go to anti-entropy), and hints older than it expire',
    default: DEFAULT_HINT_WINDOW_MS,
    defaultText: '3h',
    parse: parseDurationMs,
  };
}

/** Default hint delivery throttle: Cassandra's `hinted_handoff_throttle`. */
export const DEFAULT_HINT_THROTTLE_BYTES_PER_S = 1024 * 1024;

/** `--hint-throttle`: bytes per second a node merges its hints at. */
export function hintThrottleSetting(env: string): SettingSpec<number> {
  return {
    flag: '--hint-throttle',
    env,
    description: 'Hint delivery throttle, bytes per second (KiB, MiB accepted)',
    default: DEFAULT_HINT_THROTTLE_BYTES_PER_S,
    defaultText: '1024KiB',
    parse: parseBytes,
  };
}
