import { gossip as wire } from '@quorumkv/proto';
import type { MemberMeta, MemberPayload, MemberRecord, MemberState, MemberUpdate } from '../member.js';
import type { GossipPacket, PacketBody } from '../messages.js';

/** A packet off the wire that breaks the protocol's shape (a missing id, an unknown state…). */
export class MalformedPacketError extends Error {
  override readonly name = 'MalformedPacketError';
  constructor(readonly field: string) {
    super(`malformed gossip packet: ${field}`);
  }
}

const STATE_TO_WIRE: Readonly<Record<MemberState, wire.MemberState>> = {
  alive: wire.MemberState.MEMBER_STATE_ALIVE,
  suspect: wire.MemberState.MEMBER_STATE_SUSPECT,
  down: wire.MemberState.MEMBER_STATE_DOWN,
  left: wire.MemberState.MEMBER_STATE_LEFT,
};

function stateFromWire(state: wire.MemberState): MemberState {
  switch (state) {
    case wire.MemberState.MEMBER_STATE_ALIVE:
      return 'alive';
    case wire.MemberState.MEMBER_STATE_SUSPECT:
      return 'suspect';
    case wire.MemberState.MEMBER_STATE_DOWN:
      return 'down';
    case wire.MemberState.MEMBER_STATE_LEFT:
      return 'left';
    default:
      throw new MalformedPacketError('members[].state');
  }
}

function required(value: string, field: string): string {
  if (value.length === 0) throw new MalformedPacketError(field);
  return value;
}

function metaFromWire(meta: wire.MemberMeta | undefined): MemberMeta {
  return Object.freeze({ zone: meta?.zone ?? '', role: meta?.role ?? '', tags: Object.freeze({ ...(meta?.tags ?? {}) }) });
}

function payloadFromWire(payload: wire.Payload | undefined): MemberPayload | undefined {
  return payload && { version: payload.version, data: payload.data };
}

function payloadToWire(payload: MemberPayload): wire.Payload {
  return { version: payload.version, data: Buffer.from(payload.data.buffer, payload.data.byteOffset, payload.data.byteLength) };
}

function updateToWire(u: MemberUpdate): wire.MemberUpdate {
  switch (u.kind) {
    case 'alive':
      return { update: { $case: 'alive', alive: { id: u.id, incarnation: u.incarnation, address: u.address, meta: { ...u.meta, tags: { ...u.meta.tags } } } } };
    case 'suspect':
      return { update: { $case: 'suspect', suspect: { id: u.id, incarnation: u.incarnation, from: u.from } } };
    case 'down':
      return { update: { $case: 'down', down: { id: u.id, incarnation: u.incarnation, from: u.from } } };
    case 'left':
      return { update: { $case: 'left', left: { id: u.id, incarnation: u.incarnation } } };
    case 'payload':
      return { update: { $case: 'payload', payload: { id: u.id, payload: payloadToWire(u) } } };
  }
}

function updateFromWire(w: wire.MemberUpdate): MemberUpdate {
  const u = w.update;
  switch (u?.$case) {
    case 'alive':
      return {
        kind: 'alive',
        id: required(u.alive.id, 'alive.id'),
        incarnation: u.alive.incarnation,
        address: required(u.alive.address, 'alive.address'),
        meta: metaFromWire(u.alive.meta),
      };
    case 'suspect':
      return { kind: 'suspect', id: required(u.suspect.id, 'suspect.id'), incarnation: u.suspect.incarnation, from: u.suspect.from };
    case 'down':
      return { kind: 'down', id: required(u.down.id, 'down.id'), incarnation: u.down.incarnation, from: u.down.from };
    case 'left':
      return { kind: 'left', id: required(u.left.id, 'left.id'), incarnation: u.left.incarnation };
    case 'payload': {
      const payload = payloadFromWire(u.payload.payload);
      if (!payload) throw new MalformedPacketError('payload.payload');
      return { kind: 'payload', id: required(u.payload.id, 'payload.id'), ...payload };
    }
    default:
      throw new MalformedPacketError('updates[].update');
  }
}

function recordToWire(r: MemberRecord): wire.MemberRecord {
  return {
    id: r.id,
    address: r.address,
    meta: { ...r.meta, tags: { ...r.meta.tags } },
    incarnation: r.incarnation,
    state: STATE_TO_WIRE[r.state],
    payload: r.payload && payloadToWire(r.payload),
  };
}

function recordFromWire(r: wire.MemberRecord): MemberRecord {
  return {
    id: required(r.id, 'members[].id'),
    address: required(r.address, 'members[].address'),
    meta: metaFromWire(r.meta),
    incarnation: r.incarnation,
    state: stateFromWire(r.state),
    payload: payloadFromWire(r.payload),
  };
}

function bodyToWire(body: PacketBody | undefined): wire.SendRequest['body'] {
  switch (body?.kind) {
    case undefined:
      return undefined;
    case 'ping':
      return { $case: 'ping', ping: { seq: body.seq, target: body.target } };
    case 'ping-req':
      return { $case: 'pingReq', pingReq: { seq: body.seq, target: body.target, targetAddress: body.targetAddress, timeoutMs: body.timeoutMs } };
    case 'ack':
      return { $case: 'ack', ack: { seq: body.seq } };
    case 'nack':
      return { $case: 'nack', nack: { seq: body.seq } };
    case 'push-pull':
      return { $case: 'pushPull', pushPull: { seq: body.seq, join: body.join, reply: body.reply, members: body.members.map(recordToWire) } };
  }
}

function bodyFromWire(body: wire.SendRequest['body']): PacketBody | undefined {
  switch (body?.$case) {
    case undefined:
      return undefined;
    case 'ping':
      return { kind: 'ping', seq: body.ping.seq, target: required(body.ping.target, 'ping.target') };
    case 'pingReq':
      return {
        kind: 'ping-req',
        seq: body.pingReq.seq,
        target: required(body.pingReq.target, 'pingReq.target'),
        targetAddress: required(body.pingReq.targetAddress, 'pingReq.targetAddress'),
        timeoutMs: body.pingReq.timeoutMs,
      };
    case 'ack':
      return { kind: 'ack', seq: body.ack.seq };
    case 'nack':
      return { kind: 'nack', seq: body.nack.seq };
    case 'pushPull':
      return {
        kind: 'push-pull',
        seq: body.pushPull.seq,
        join: body.pushPull.join,
        reply: body.pushPull.reply,
        members: body.pushPull.members.map(recordFromWire),
      };
  }
}

/** A packet as a `quorumkv.gossip.v1.SendRequest`. */
export function packetToWire(packet: GossipPacket): wire.SendRequest {
  return { from: packet.from, fromAddress: packet.fromAddress, body: bodyToWire(packet.body), updates: packet.updates.map(updateToWire) };
}

/**
 * A `SendRequest` as a packet.
 * @throws MalformedPacketError when a required field is empty or a state unknown.
 */
export function packetFromWire(request: wire.SendRequest): GossipPacket {
  return {
    from: required(request.from, 'from'),
    fromAddress: required(request.fromAddress, 'fromAddress'),
    body: bodyFromWire(request.body),
    updates: request.updates.map(updateFromWire),
  };
}
