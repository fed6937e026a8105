// RFC 6962 / RFC 9162 Merkle tree hashing over the evidence log. A leaf is one record, and its
// input is the 32 raw bytes of the record's `hash`: the record hash already commits to the whole
// record, and the 0x00 / 0x01 prefixes keep leaf and interior hashes apart (second-preimage
// resistance, RFC 6962 §2.1).
import { digestBytes, sha256Bytes } from "./hashing.js";

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_TREE_ROOT: Buffer = sha256Bytes("");

export function leafHash(leafInput: Uint8Array): Buffer {
  return sha256Bytes(LEAF_PREFIX, leafInput);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256Bytes(NODE_PREFIX, left, right);
}

/** The leaf hash of the record whose `hash` is `recordHash`. */
export function recordLeafHash(recordHash: string): Buffer {
  return leafHash(digestBytes(recordHash));
}

/**
 * All levels of the tree, bottom-up. A node without a right sibling is carried up unchanged,
 * which yields exactly RFC 6962's split at the largest power of two below n. Building the levels
 * once makes every inclusion proof O(log n) instead of O(n) each.
 */
export class MerkleTree {
  private readonly levels: readonly (readonly Buffer[])[];

  constructor(leafHashes: readonly Buffer[]) {
    const levels: Buffer[][] = [[...leafHashes]];
    let level = levels[0] ?? [];
    while (level.length > 1) {
      level = pairUp(level);
      levels.push(level);
    }
    this.levels = levels;
  }

  get size(): number {
    return this.levels[0]?.length ?? 0;
  }

  get root(): Buffer {
    if (this.size === 0) return EMPTY_TREE_ROOT;
    const top = this.levels[this.levels.length - 1];
    return top?.[0] ?? EMPTY_TREE_ROOT;
  }

  /** RFC 6962 PATH(index, D[size]): sibling hashes from the leaf up to the root. */
  inclusionProof(index: number): Buffer[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`leaf index ${index} is outside a tree of size ${this.size}`);
    }
    const proof: Buffer[] = [];
    let position = index;
    for (const level of this.levels.slice(0, -1)) {
      const sibling = level[position ^ 1];
      if (sibling !== undefined) proof.push(sibling);
      position >>= 1;
    }
    return proof;
  }
}

function pairUp(level: readonly Buffer[]): Buffer[] {
  const parents: Buffer[] = [];
  for (let i = 0; i < level.length; i += 2) {
    const left = level[i];
    const right = level[i + 1];
    if (left === undefined) break;
    parents.push(right === undefined ? left : nodeHash(left, right));
  }
  return parents;
}

export function merkleRoot(leafHashes: readonly Buffer[]): Buffer {
  return new MerkleTree(leafHashes).root;
}

export interface InclusionClaim {
  readonly leafHash: Uint8Array;
  readonly index: number;
  readonly size: number;
  readonly proof: readonly Uint8Array[];
  readonly root: Uint8Array;
}

/** RFC 9162 §2.1.3.2: does `proof` place `leafHash` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(claim: InclusionClaim): boolean {
  const { index, size } = claim;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  // Plain numbers rather than bigint: sizes stay far below 2^53, and >>> would cap at 2^32.
  let fn = index;
  let sn = size - 1;
  let hash: Uint8Array = claim.leafHash;
  for (const sibling of claim.proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      hash = nodeHash(sibling, hash);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      hash = nodeHash(hash, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(hash).equals(Buffer.from(claim.root));
}
