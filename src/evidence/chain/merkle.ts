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

/** MTH(D[start:end]) over leaf hashes, as RFC 6962 §2.1 defines it (k = largest power of two < n). */
function subtreeRoot(leaves: readonly Buffer[], start: number, end: number): Buffer {
  const n = end - start;
  if (n === 0) return EMPTY_TREE_ROOT;
  if (n === 1) return leaves[start] as Buffer;
  const k = largestPowerOfTwoBelow(n);
  return nodeHash(subtreeRoot(leaves, start, start + k), subtreeRoot(leaves, start + k, end));
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * RFC 6962 §2.1.2 PROOF(m, D[n]) (RFC 9162 §2.1.4): the nodes that show the tree of the first
 * `oldSize` leaves is a prefix of the tree of the first `newSize`. Empty when oldSize is 0 or
 * equals newSize. `leaves` must hold at least `newSize` leaf hashes.
 */
export function consistencyProof(leaves: readonly Buffer[], oldSize: number, newSize: number): Buffer[] {
  const ranges = consistencyProofRanges(oldSize, newSize);
  if (newSize > leaves.length) throw new RangeError(`tree of ${leaves.length} leaves has no size ${newSize}`);
  return ranges.map(([start, end]) => subtreeRoot(leaves, start, end));
}

/** The leaf ranges [start, end) whose MTH make up PROOF(oldSize, D[newSize]), in proof order. */
export function consistencyProofRanges(oldSize: number, newSize: number): [number, number][] {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) {
    throw new RangeError(`no consistency proof from size ${oldSize} to ${newSize}`);
  }
  if (oldSize === 0 || oldSize === newSize) return [];
  return subproofRanges(oldSize, 0, newSize, true);
}

function subproofRanges(m: number, start: number, end: number, complete: boolean): [number, number][] {
  const n = end - start;
  if (m === n) return complete ? [] : [[start, end]];
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) return [...subproofRanges(m, start, start + k, complete), [start + k, end]];
  return [...subproofRanges(m - k, start + k, end, false), [start, start + k]];
}

/**
 * MTH of a growing list of leaves in O(log n) memory: the roots of the perfect subtrees its size
 * decomposes into, largest first. The RFC 6962 root folds them from the right.
 */
export class CompactRange {
  private readonly subtrees: { size: number; hash: Buffer }[] = [];
  private leaves = 0;

  get size(): number {
    return this.leaves;
  }

  add(leafHash: Buffer): void {
    let node = { size: 1, hash: leafHash };
    for (let top = this.subtrees.at(-1); top !== undefined && top.size === node.size; top = this.subtrees.at(-1)) {
      this.subtrees.pop();
      node = { size: node.size * 2, hash: nodeHash(top.hash, node.hash) };
    }
    this.subtrees.push(node);
    this.leaves++;
  }

  root(): Buffer {
    let root: Buffer | undefined;
    for (let i = this.subtrees.length - 1; i >= 0; i--) {
      const subtree = (this.subtrees[i] as { hash: Buffer }).hash;
      root = root === undefined ? subtree : nodeHash(subtree, root);
    }
    return root ?? EMPTY_TREE_ROOT;
  }
}

/**
 * PROOF(oldSize, D[newSize]) from leaves streamed once in order (O(log n) memory per proof
 * node): feed every leaf from index 0 to newSize - 1 to `add`, then read `proof()`.
 */
export class StreamedConsistencyProof {
  private readonly ranges: [number, number][];
  private readonly roots: CompactRange[];
  private readonly byStart: number[];
  private next = 0;
  private cursor = 0;

  constructor(
    oldSize: number,
    private readonly newSize: number,
  ) {
    this.ranges = consistencyProofRanges(oldSize, newSize);
    this.roots = this.ranges.map(() => new CompactRange());
    this.byStart = this.ranges.map((_, index) => index).sort((a, b) => this.startOf(a) - this.startOf(b));
  }

  add(leafHash: Buffer): void {
    const index = this.next++;
    while (this.cursor < this.byStart.length && this.endOf(this.byStart[this.cursor] as number) <= index) this.cursor++;
    const range = this.byStart[this.cursor];
    if (range !== undefined && this.startOf(range) <= index) (this.roots[range] as CompactRange).add(leafHash);
  }

  proof(): Buffer[] {
    if (this.ranges.length > 0 && this.next < this.newSize) {
      throw new RangeError(`consistency proof to size ${this.newSize} was given only ${this.next} leaves`);
    }
    return this.roots.map((range) => range.root());
  }

  private startOf(range: number): number {
    return (this.ranges[range] as [number, number])[0];
  }

  private endOf(range: number): number {
    return (this.ranges[range] as [number, number])[1];
  }
}

export interface ConsistencyClaim {
  readonly oldSize: number;
  readonly oldRoot: Uint8Array;
  readonly newSize: number;
  readonly newRoot: Uint8Array;
  readonly proof: readonly Uint8Array[];
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree (oldSize, oldRoot) is a prefix of (newSize, newRoot)? */
export function verifyConsistency(claim: ConsistencyClaim): boolean {
  const { oldSize, newSize } = claim;
  const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize)
    return false;
  if (oldSize === newSize) return claim.proof.length === 0 && same(claim.oldRoot, claim.newRoot);
  if (oldSize === 0) return claim.proof.length === 0;
  // Step 1: when oldSize is an exact power of two, its root is the first node of the path.
  const path = isPowerOfTwo(oldSize) ? [claim.oldRoot, ...claim.proof] : [...claim.proof];
  if (path.length === 0) return false;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(fr, claim.oldRoot) && same(sr, claim.newRoot);
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
