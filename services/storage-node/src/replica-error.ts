import { storage } from '@quorumkv/proto';
import { DeadlineExceededError, InvalidArgumentError, NotServingError, opaqueInternalError, type Logger } from '@quorumkv/service-kit';
import { EngineClosedError, KeyBusyError, LeftRingError, SiblingLimitError, StaleEpochError, WriteQueueFullError } from './errors.js';

const Code = storage.ReplicaError_Code;

/**
 * The one mapper from anything a replica operation throws to the `ReplicaError` sent back on the
 * stream. Known conditions keep their code; anything else is CODE_INTERNAL with an opaque message
 * naming a log id (the coordinator may quote it to its client), its detail logged under that id.
 */
export function toReplicaError(err: unknown, logger?: Logger): storage.ReplicaError {
  if (err instanceof InvalidArgumentError) return { code: Code.CODE_INVALID_ARGUMENT, message: err.message, ringEpoch: 0 };
  if (err instanceof DeadlineExceededError) return { code: Code.CODE_DEADLINE_EXCEEDED, message: err.message, ringEpoch: 0 };
  if (err instanceof SiblingLimitError) return { code: Code.CODE_SIBLING_LIMIT, message: err.message, ringEpoch: 0 };
  if (err instanceof StaleEpochError) return { code: Code.CODE_STALE_EPOCH, message: err.message, ringEpoch: err.knownEpoch };
  if (err instanceof NotServingError || err instanceof EngineClosedError || err instanceof LeftRingError) return { code: Code.CODE_UNAVAILABLE, message: err.message, ringEpoch: 0 };
  if (err instanceof KeyBusyError || err instanceof WriteQueueFullError) return { code: Code.CODE_OVERLOADED, message: err.message, ringEpoch: 0 };
  return { code: Code.CODE_INTERNAL, message: opaqueInternalError(err, logger, 'unexpected error in a replica operation'), ringEpoch: 0 };
}
