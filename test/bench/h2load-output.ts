/**
 * Reading what h2load prints and logs. Its summary looks like:
 *
 *   finished in 4.00s, 34346.67 req/s, 1.38MB/s
 *   requests: 103040 total, 103040 started, 103040 done, 103040 succeeded, 0 failed, 0 errored, 0 timeout
 *   status codes: 103040 2xx, 0 3xx, 0 4xx, 0 5xx
 *
 * and `--log-file` holds one tab-separated line per request: start (µs since the epoch), HTTP
 * status, time to the response (µs).
 */

/** The counts of one h2load run's summary. */
export interface H2LoadSummary {
  /** h2load's own throughput: requests over its main duration (warm-up excluded). */
  readonly requestsPerSecond: number;
  readonly done: number;
  readonly succeeded: number;
  /** Failed requests, including errored ones, timeouts and HTTP 4xx/5xx. */
  readonly failed: number;
  /** Failed below HTTP (connection or stream reset); a subset of `failed`. */
  readonly errored: number;
  /** Timed out; a subset of `errored`. */
  readonly timeout: number;
  readonly status2xx: number;
  readonly status3xx: number;
  readonly status4xx: number;
  readonly status5xx: number;
}

const FINISHED = /^finished in [^,]+, ([\d.]+) req\/s/m;
const REQUESTS = /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m;
const STATUS = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m;

/** The summary in h2load's output, or undefined when one of its three lines is missing. */
export function parseH2LoadSummary(output: string): H2LoadSummary | undefined {
  const f = FINISHED.exec(output);
  const r = REQUESTS.exec(output);
  const s = STATUS.exec(output);
  if (!f || !r || !s) return undefined;
  const n = (m: RegExpExecArray, i: number): number => Number(m[i]);
  return {
    requestsPerSecond: n(f, 1),
    done: n(r, 3),
    succeeded: n(r, 4),
    failed: n(r, 5),
    errored: n(r, 6),
    timeout: n(r, 7),
    status2xx: n(s, 1),
    status3xx: n(s, 2),
    status4xx: n(s, 3),
    status5xx: n(s, 4),
  };
}

/**
 * Response times in milliseconds of the logged 2xx requests that started at or after
 * `notBeforeUs` (µs since the epoch), so warm-up requests can be left out. Failed requests are
 * counted as errors from the summary, not timed (as in the grpc-js load loop); malformed lines
 * are skipped.
 */
export function parseH2LoadLog(log: string, notBeforeUs: number): number[] {
  const out: number[] = [];
  for (const line of log.split('\n')) {
    const [start, status, micros] = line.split('\t');
    if (start === undefined || status === undefined || micros === undefined) continue;
    const startUs = Number(start);
    const code = Number(status);
    const us = Number(micros);
    if (!Number.isFinite(startUs) || !Number.isFinite(us) || startUs < notBeforeUs || code < 200 || code > 299) continue;
    out.push(us / 1000);
  }
  return out;
}
