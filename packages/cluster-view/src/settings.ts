import { parseHostPort, type SettingSpec } from '@quorumkv/service-kit';

/**
 * The `--seeds` setting every process shares: the membership service's addresses, as
 * `HOST:PORT[,HOST:PORT…]`. Contact points only — the cluster's members come from the
 * membership service, never from a list in a process's configuration.
 */
export function seedsSetting(env: string, defaults: readonly string[] = []): SettingSpec<string[]> {
  return {
    flag: '--seeds',
    env,
    description: 'Membership service addresses to join and watch the cluster through, HOST:PORT[,HOST:PORT…]',
    default: [...defaults],
    defaultText: defaults.length === 0 ? '(required)' : defaults.join(','),
    parse: parseSeeds,
  };
}

/**
 * Parses `host:port,host:port`: each address checked, duplicates dropped.
 * @throws Error naming the bad address (service-kit's reader adds the setting).
 */
export function parseSeeds(raw: string): string[] {
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const address = parseHostPort(item);
    if (!out.includes(address)) out.push(address);
  }
  return out;
}

/** The `--zone` setting: this process's failure domain, advertised in its gossip metadata. */
export function zoneSetting(env: string): SettingSpec<string> {
  return {
    flag: '--zone',
    env,
    description: 'Failure domain (availability zone, rack) this process runs in; replicas spread across zones',
    default: '',
    defaultText: '(none)',
    parse: (raw) => {
      const zone = raw.trim();
      if (!/^[A-Za-z0-9._-]{0,64}$/.test(zone)) throw new Error(`use up to 64 letters, digits, '.', '_' or '-', got "${raw}"`);
      return zone;
    },
  };
}

/** The `--advertise` setting: the address other members reach this process on. */
export function advertiseSetting(env: string): SettingSpec<string> {
  return {
    flag: '--advertise',
    env,
    description: 'HOST:PORT other members reach this process on (default: the listen address with its bound port; a 0.0.0.0 host becomes this host name)',
    default: '',
    defaultText: '(listen address)',
    parse: (raw) => (raw.trim() === '' ? '' : parseHostPort(raw)),
  };
}
