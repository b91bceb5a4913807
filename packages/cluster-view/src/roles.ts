/**
 * Roles and liveness as the rest of quorumkv names them, and their wire enums. A gossip member
 * carries its role as a string in its metadata; the membership API carries the enum.
 */
import { membership } from '@quorumkv/proto';
import type { MemberState } from '@quorumkv/gossip';

/** What a cluster member does. */
export type Role = 'storage' | 'coordinator' | 'rate-limiter' | 'membership' | 'anti-entropy';

/** Every role, in the order `qkv cluster status` lists them. */
export const ROLES: readonly Role[] = ['membership', 'storage', 'coordinator', 'rate-limiter', 'anti-entropy'];

/** Liveness as failure detection reports it (gossip's member states). */
export type Liveness = MemberState;

const ROLE_TO_WIRE: Readonly<Record<Role, membership.Role>> = {
  storage: membership.Role.ROLE_STORAGE,
  coordinator: membership.Role.ROLE_COORDINATOR,
  'rate-limiter': membership.Role.ROLE_RATE_LIMITER,
  membership: membership.Role.ROLE_MEMBERSHIP,
  'anti-entropy': membership.Role.ROLE_ANTI_ENTROPY,
};

/** Whether a string (a gossip member's `meta.role`) names a known role. */
export function isRole(value: string): value is Role {
  return Object.prototype.hasOwnProperty.call(ROLE_TO_WIRE, value);
}

/** The wire enum of a role; unknown or empty roles are UNSPECIFIED. */
export function roleToWire(role: string): membership.Role {
  return isRole(role) ? ROLE_TO_WIRE[role] : membership.Role.ROLE_UNSPECIFIED;
}

/** The role an enum names, or '' for UNSPECIFIED (and values from a newer peer). */
export function roleFromWire(role: membership.Role): Role | '' {
  for (const [name, wire] of Object.entries(ROLE_TO_WIRE)) if (wire === role) return name as Role;
  return '';
}

const LIVENESS_TO_WIRE: Readonly<Record<Liveness, membership.Liveness>> = {
  alive: membership.Liveness.LIVENESS_ALIVE,
  suspect: membership.Liveness.LIVENESS_SUSPECT,
  down: membership.Liveness.LIVENESS_DOWN,
  left: membership.Liveness.LIVENESS_LEFT,
};

/** The wire enum of a liveness. */
export function livenessToWire(liveness: Liveness): membership.Liveness {
  return LIVENESS_TO_WIRE[liveness];
}

/**
 * The liveness an enum names. UNSPECIFIED (a member nobody has heard from) reads as `down`: a
 * consumer must not route to a member it cannot vouch for.
 */
export function livenessFromWire(liveness: membership.Liveness): Liveness {
  for (const [name, wire] of Object.entries(LIVENESS_TO_WIRE)) if (wire === liveness) return name as Liveness;
  return 'down';
}
