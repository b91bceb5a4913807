import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@quorumkv/service-kit';

/** A logger whose JSON lines the test can read back. */
export function captureLogger(node = 'test'): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _enc, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ service: 'storage-node', node, level: 'debug', destination });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines };
}
