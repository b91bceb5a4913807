/**
 * Configuration as data: each service declares its settings once (name, type, default,
 * description) and reads flags and environment variables through {@link readConfig}. A bad value
 * stops the service with a message naming the setting; the same table prints `--help`.
 */

/** One setting. `flag` is the long option (`--listen`); `env` the environment variable. */
export interface SettingSpec<T> {
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  readonly default: T;
  readonly parse: (raw: string) => T;
  /** Shown in --help instead of the default's JSON form. */
  readonly defaultText?: string;
}

export type ConfigTable = Record<string, SettingSpec<unknown>>;
export type ConfigOf<T extends ConfigTable> = { [K in keyof T]: T[K] extends SettingSpec<infer V> ? V : never };

/** A setting with a value that cannot be used. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`invalid setting ${setting}: ${problem}`);
  }
}

/** A parse failure inside a setting's `parse`; {@link readConfig} adds which setting. */
class ValueError extends Error {}

export const setting = {
  string(flag: string, env: string, def: string, description: string): SettingSpec<string> {
    return { flag, env, description, default: def, parse: (raw) => raw };
  },
  int(flag: string, env: string, def: number, description: string, min = 0, max = Number.MAX_SAFE_INTEGER): SettingSpec<number> {
    return {
      flag,
      env,
      description,
      default: def,
      parse: (raw) => {
        if (!/^-?\d+$/.test(raw.trim())) throw new ValueError(`expected a whole number, got "${raw}"`);
        const n = Number(raw);
        if (n < min || n > max) throw new ValueError(`must be between ${min} and ${max}, got ${n}`);
        return n;
      },
    };
  },
  bool(flag: string, env: string, def: boolean, description: string): SettingSpec<boolean> {
    return {
      flag,
      env,
      description,
      default: def,
      parse: (raw) => {
        const v = raw.trim().toLowerCase();
        if (['1', 'true', 'yes', 'on', ''].includes(v)) return true;
        if (['0', 'false', 'no', 'off'].includes(v)) return false;
        throw new ValueError(`expected true or false, got "${raw}"`);
      },
    };
  },
  list(flag: string, env: string, def: readonly string[], description: string): SettingSpec<string[]> {
    return {
      flag,
      env,
      description,
      default: [...def],
      defaultText: def.length === 0 ? '(none)' : def.join(','),
      parse: (raw) =>
        raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
    };
  },
  enumOf<const V extends string>(flag: string, env: string, def: V, values: readonly V[], description: string): SettingSpec<V> {
    return {
      flag,
      env,
      description: `${description} (one of ${values.join(', ')})`,
      default: def,
      parse: (raw) => {
        if (!(values as readonly string[]).includes(raw)) throw new ValueError(`expected one of ${values.join(', ')}, got "${raw}"`);
        return raw as V;
      },
    };
  },
};

/** Host and port of a listen or dial address, checked. */
export function parseHostPort(raw: string): string {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(raw.trim());
  if (!m || Number(m[2]) > 65535) throw new ValueError(`expected HOST:PORT, got "${raw}"`);
  return raw.trim();
}

export const hostPort = (flag: string, env: string, def: string, description: string): SettingSpec<string> => ({
  flag,
  env,
  description,
  default: def,
  parse: parseHostPort,
});

export interface ReadConfigOptions {
  readonly argv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** Result of reading: the values, or a request for help. */
export type ReadConfigResult<T extends ConfigTable> = { help: true } | { help: false; config: ConfigOf<T> };

/**
 * Reads every setting: a `--flag value` or `--flag=value` wins over the environment variable,
 * which wins over the default. Unknown flags are refused.
 * @throws ConfigError naming the setting and the problem.
 */
export function readConfig<T extends ConfigTable>(table: T, options: ReadConfigOptions = {}): ReadConfigResult<T> {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  const byFlag = new Map<string, string>();
  for (const [key, spec] of Object.entries(table)) byFlag.set(spec.flag, key);
  const raw = new Map<string, { value: string; source: string }>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { help: true };
    if (!arg.startsWith('--')) throw new ConfigError(arg, 'unexpected argument; settings are given as --name value');
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const key = byFlag.get(flag);
    if (key === undefined) throw new ConfigError(flag, `unknown option; run with --help to list the settings`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      const spec = table[key];
      const isBool = typeof spec?.default === 'boolean';
      if (next === undefined || next.startsWith('--')) {
        if (!isBool) throw new ConfigError(flag, 'needs a value');
        value = 'true';
      } else {
        value = next;
        i++;
      }
    }
    raw.set(key, { value, source: flag });
  }
  const config: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const given = raw.get(key) ?? (env[spec.env] !== undefined ? { value: env[spec.env] as string, source: spec.env } : undefined);
    if (given === undefined) {
      config[key] = spec.default;
      continue;
    }
    try {
      config[key] = spec.parse(given.value);
    } catch (err) {
      throw new ConfigError(given.source, err instanceof Error ? err.message : String(err));
    }
  }
  return { help: false, config: config as ConfigOf<T> };
}

/** The `--help` text: usage line, then one line per setting with its variable and default. */
export function formatHelp(command: string, summary: string, table: ConfigTable): string {
  const lines = [`Usage: ${command} [options]`, '', summary, '', 'Options (flag, environment variable, default):'];
  for (const spec of Object.values(table)) {
    const def = spec.defaultText ?? JSON.stringify(spec.default);
    lines.push(`  ${spec.flag.padEnd(24)} ${spec.env.padEnd(30)} default ${def}`);
    lines.push(`      ${spec.description}`);
  }
  lines.push('  --help                   print this help');
  return lines.join('\n');
}
