/** A node id given to {@link HashRing.addNode} is already on the ring. */
export class DuplicateNodeError extends Error {
  override readonly name = 'DuplicateNodeError';
  readonly nodeId: string;

  constructor(nodeId: string) {
    super(`node ${JSON.stringify(nodeId)} is already on the ring`);
    this.nodeId = nodeId;
  }
}
