import { watch, type FSWatcher } from 'node:fs';
import { loadRules, RuleSet, RuleSetError } from '@quorumkv/ratelimit';
import type { Logger } from '@quorumkv/service-kit';

/** The rules folder could not be loaded at startup; `problems` lists each, file:line:column first. */
export class InitialRulesError extends Error {
  override readonly name = 'InitialRulesError';
  constructor(
    readonly dir: string,
    readonly problems: readonly string[],
  ) {
    super(`cannot load the rules in ${dir}:\n${problems.join('\n')}`);
  }
}

/** How rule loads went: Envoy's `config_load_success` and `config_load_error`. */
export interface RuleLoadCounters {
  configLoadSuccess: number;
  configLoadError: number;
  /** The problems of the last refused load; empty once a load succeeds. */
  lastError: string;
}

export interface RulesReloaderOptions {
  /** The rules folder. */
  readonly dir: string;
  readonly logger: Logger;
  /** Quiet time after the last change before reloading. */
  readonly debounceMs: number;
  /** Watch the folder (off in tests that drive {@link RulesReloader.reload} themselves). @default true */
  readonly watch?: boolean;
  /** Replaces the loader (tests). @default loadRules */
  readonly load?: (paths: readonly string[]) => Promise<RuleSet>;
}

/**
 * Holds the rules in force and swaps in new ones when the folder changes. A load reads and checks
 * every file first and only then replaces the whole rule set in one assignment, so a request
 * sees either the old rules or the new ones, never a mix. A bad change keeps the old rules, logs
 * every problem (file:line:column: field: problem) and counts a load error.
 */
export class RulesReloader {
  readonly counters: RuleLoadCounters = { configLoadSuccess: 0, configLoadError: 0, lastError: '' };
  private ruleSet: RuleSet = RuleSet.empty();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private again = false;
  private lastProblems: string[] = [];
  private readonly load: (paths: readonly string[]) => Promise<RuleSet>;

  constructor(private readonly options: RulesReloaderOptions) {
    this.load = options.load ?? loadRules;
  }

  /** The rules in force now. */
  get current(): RuleSet {
    return this.ruleSet;
  }

  /**
   * Loads the rules for the first time and starts watching the folder.
   * @throws InitialRulesError when the rules are bad: a replica does not start without valid rules.
   */
  async start(): Promise<void> {
    const ok = await this.reload();
    if (!ok) throw new InitialRulesError(this.options.dir, this.lastProblems);
    if (this.options.watch ?? true) {
      this.watcher = watch(this.options.dir, { recursive: true }, () => this.changed());
      this.watcher.on('error', (err) => this.options.logger.error({ err, dir: this.options.dir }, 'cannot watch the rules folder'));
    }
  }

  /**
   * Reloads now (the injectable trigger; the folder watch calls it too). Loads that overlap are
   * run one after the other, and a change during a load causes one more load. Resolves with
   * whether the last load succeeded.
   */
  reload(): Promise<boolean> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loadLoop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops watching. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private changed(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, this.options.debounceMs);
  }

  private async loadLoop(): Promise<boolean> {
    let ok: boolean;
    do {
      this.again = false;
      ok = await this.loadOnce();
    } while (this.again);
    return ok;
  }

  private async loadOnce(): Promise<boolean> {
    const { logger, dir } = this.options;
    try {
      const next = await this.load([dir]);
      // The swap: one assignment, after the whole set was read and checked.
      this.ruleSet = next;
      this.counters.configLoadSuccess++;
      this.counters.lastError = '';
      logger.info({ dir, domains: next.domains, rules: next.rules().length }, 'rules loaded');
      return true;
    } catch (err) {
      this.counters.configLoadError++;
      this.lastProblems = err instanceof RuleSetError ? err.errors.map((e) => e.message) : [err instanceof Error ? err.message : String(err)];
      this.counters.lastError = this.lastProblems.join('\n');
      logger.error({ dir, problems: this.lastProblems }, 'rules rejected; the previous rules stay in force');
      return false;
    }
  }
}
