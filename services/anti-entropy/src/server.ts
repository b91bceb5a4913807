/**
 * The anti-entropy worker's gRPC services, created without binding: `main.ts` binds them with
 * `startGrpcHost`, tests with their own server.
 */
import { antiEntropy } from '@quorumkv/proto';
import type { ServiceRegistration } from '@quorumkv/service-kit';
import { createAdminService, type AdminServiceDeps } from './admin-service.js';

/** The `quorumkv.antientropy.v1.AntiEntropyService` registration. */
export function createAntiEntropyServer(deps: AdminServiceDeps): ServiceRegistration {
  return {
    name: 'quorumkv.antientropy.v1.AntiEntropyService',
    definition: antiEntropy.AntiEntropyServiceService,
    implementation: createAdminService(deps),
  };
}
