/**
 * Generated protobuf code for quorumkv's APIs, one namespace per proto package.
 * Regenerate with `npm run proto:gen`; never edit files under `generated/`.
 */
export * as kv from './generated/quorumkv/kv/v1/kv.js';
export * as storage from './generated/quorumkv/storage/v1/storage.js';
export * as admin from './generated/quorumkv/admin/v1/admin.js';

import { fileURLToPath } from 'node:url';

/**
 * Path of the binary FileDescriptorSet of every proto in this package (imports included), for
 * gRPC server reflection. Generated beside the code by `npm run proto:gen`.
 */
export const descriptorSetPath: string = fileURLToPath(
  new URL('../src/generated/descriptors.binpb', import.meta.url),
);
