/** Test helpers, as `@quorumkv/ratelimit/testing`: a rules folder laid out as a Kubernetes ConfigMap volume. */
export { writeConfigMapVolume } from './config-map-volume.js';
