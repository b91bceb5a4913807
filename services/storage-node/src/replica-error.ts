import { storage } from '@quorumkv/proto';
import { DeadlineExceededError, InvalidArgumentError, NotServingError, type Logger } from '@quorumkv/service-kit';
import { EngineClosedError, LeftRingError, SiblingLimitError } from './errors.js';

const Code = storage.ReplicaError_Code;

/**
 * The one mapper from anything a replica operation throws to the `ReplicaError` sent back on the
 * stream. Known conditions keep their code; anything else is CODE_INTERNAL with its stack logged.
 */
export function toReplicaError(err: unknown, logger?: Logger): storage.ReplicaError {
  if (err instanceof InvalidArgumentError) return { code: Code.CODE_INVALID_ARGUMENT, message: err.message };
  if (err instanceof DeadlineExceededError) return { code: Code.CODE_DEADLINE_EXCEEDED, message: err.message };
  if (err instanceof SiblingLimitError) return { code: Code.CODE_SIBLING_LIMIT, message: err.message };
  if (err instanceof NotServingError || err instanceof EngineClosedError || err instanceof LeftRingError) return { code: Code.CODE_UNAVAILABLE, message: err.message };
  logger?.error({ err }, 'unexpected error in a replica operation');
  const message = err instanceof Error ? err.message : String(err);
  return { code: Code.CODE_INTERNAL, message: `internal error: ${message}` };
}
