import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  consistencyProof,
  EMPTY_TREE_ROOT,
  leafHash,
  merkleRoot,
  MerkleTree,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
  CompactRange,
  StreamedConsistencyProof,
} from "../../../src/evidence/chain/merkle.js";

// Naive RFC 6962 §2.1 definitions, written straight from the text.
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function naiveRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash("sha256").digest();
  if (leaves.length === 1) return leaves[0] as Buffer;
  const k = largestPowerOfTwoBelow(leaves.length);
  return nodeHash(naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)));
}

function naivePath(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = largestPowerOfTwoBelow(leaves.length);
  return m < k
    ? [...naivePath(m, leaves.slice(0, k)), naiveRoot(leaves.slice(k))]
    : [...naivePath(m - k, leaves.slice(k)), naiveRoot(leaves.slice(0, k))];
}

// RFC 6962 §2.1.2 SUBPROOF, written straight from the text.
function naiveSubproof(m: number, leaves: readonly Buffer[], complete: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [naiveRoot(leaves)];
  const k = largestPowerOfTwoBelow(n);
  return m <= k
    ? [...naiveSubproof(m, leaves.slice(0, k), complete), naiveRoot(leaves.slice(k))]
    : [...naiveSubproof(m - k, leaves.slice(k), false), naiveRoot(leaves.slice(0, k))];
}

const leavesOf = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));

describe("RFC 6962 Merkle tree", () => {
  it("matches the published test vectors (certificate-transparency / trillian)", () => {
    const inputs = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
    const roots = [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    const leaves = inputs.map((hex) => leafHash(Buffer.from(hex, "hex")));
    roots.forEach((root, i) => expect(merkleRoot(leaves.slice(0, i + 1)).toString("hex")).toBe(root));
    expect(EMPTY_TREE_ROOT.toString("hex")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("agrees with the naive definition on roots and proofs for every size up to 70", () => {
    for (let size = 0; size <= 70; size++) {
      const leaves = leavesOf(size);
      const tree = new MerkleTree(leaves);
      expect(tree.root.equals(naiveRoot(leaves))).toBe(true);
      for (let index = 0; index < size; index++) {
        expect(tree.inclusionProof(index)).toEqual(naivePath(index, leaves));
      }
    }
  });

  it("verifies every honest proof and rejects a proof for another leaf, index or size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (size, a, b) => {
        const leaves = leavesOf(size);
        const tree = new MerkleTree(leaves);
        const index = a % size;
        const other = b % size;
        const claim = {
          leafHash: leaves[index] as Buffer,
          index,
          size,
          proof: tree.inclusionProof(index),
          root: tree.root,
        };
        expect(verifyInclusion(claim)).toBe(true);
        if (other !== index) {
          expect(verifyInclusion({ ...claim, index: other })).toBe(false);
          expect(verifyInclusion({ ...claim, leafHash: leaves[other] as Buffer })).toBe(false);
        }
        // No `size + 1` case: a left-edge path can have the same shape in both trees. The signed
        // checkpoint binds size and root together, which is what the bundle verifier relies on.
        expect(verifyInclusion({ ...claim, root: nodeHash(tree.root, tree.root) })).toBe(false);
        expect(verifyInclusion({ ...claim, index: size })).toBe(false);
        if (claim.proof.length > 0) expect(verifyInclusion({ ...claim, proof: claim.proof.slice(1) })).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses to prove a leaf outside the tree", () => {
    expect(() => new MerkleTree(leavesOf(3)).inclusionProof(3)).toThrow(RangeError);
  });
});

describe("RFC 9162 §2.1.4 consistency proofs", () => {
  const vectorLeaves = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
  ].map((hex) => leafHash(Buffer.from(hex, "hex")));

  it("matches the published vectors (certificate-transparency / trillian)", () => {
    const vectors: [number, number, string[]][] = [
      [1, 1, []],
      [
        1,
        8,
        [
          "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
          "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
          "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
      ],
      [
        6,
        8,
        [
          "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
          "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
      ],
      [
        2,
        5,
        [
          "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
          "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
      ],
    ];
    for (const [m, n, expected] of vectors) {
      const proof = consistencyProof(vectorLeaves, m, n);
      expect(proof.map((node) => node.toString("hex"))).toEqual(expected);
      const claim = {
        oldSize: m,
        oldRoot: merkleRoot(vectorLeaves.slice(0, m)),
        newSize: n,
        newRoot: merkleRoot(vectorLeaves.slice(0, n)),
        proof,
      };
      expect(verifyConsistency(claim)).toBe(true);
    }
  });

  it("agrees with the brute-force definition, and every honest proof verifies, for all sizes up to 40", () => {
    for (let n = 0; n <= 40; n++) {
      const leaves = leavesOf(n);
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(leaves, m, n);
        expect(proof).toEqual(m === 0 || m === n ? [] : naiveSubproof(m, leaves, true));
        const claim = {
          oldSize: m,
          oldRoot: naiveRoot(leaves.slice(0, m)),
          newSize: n,
          newRoot: naiveRoot(leaves),
          proof,
        };
        expect(verifyConsistency(claim)).toBe(true);
      }
    }
  });

  it("rejects a rewritten prefix, a wrong size, a wrong root and a tampered or shortened proof", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.nat(), (n, a, b) => {
        const leaves = leavesOf(n);
        const m = 1 + (a % (n - 1)); // 1 ≤ m < n
        const proof = consistencyProof(leaves, m, n);
        const claim = {
          oldSize: m,
          oldRoot: naiveRoot(leaves.slice(0, m)),
          newSize: n,
          newRoot: naiveRoot(leaves),
          proof,
        };
        expect(verifyConsistency(claim)).toBe(true);
        // The log was rewritten at leaf b < m after the old checkpoint: the new tree is not an extension.
        const rewritten = [...leaves];
        rewritten[b % m] = leafHash(Buffer.from("forged"));
        const forgedRoot = naiveRoot(rewritten);
        expect(verifyConsistency({ ...claim, newRoot: forgedRoot })).toBe(false);
        expect(verifyConsistency({ ...claim, newRoot: forgedRoot, proof: consistencyProof(rewritten, m, n) })).toBe(
          false,
        );
        expect(verifyConsistency({ ...claim, oldRoot: nodeHash(claim.oldRoot, claim.oldRoot) })).toBe(false);
        if (m + 1 < n) expect(verifyConsistency({ ...claim, oldSize: m + 1 })).toBe(false);
        if (proof.length > 0) {
          expect(verifyConsistency({ ...claim, proof: proof.slice(1) })).toBe(false);
          const tampered = [...proof];
          tampered[b % proof.length] = nodeHash(proof[0] as Buffer, proof[0] as Buffer);
          expect(verifyConsistency({ ...claim, proof: tampered })).toBe(false);
        }
        expect(verifyConsistency({ ...claim, oldSize: n + 1 })).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses sizes outside the tree", () => {
    expect(() => consistencyProof(leavesOf(3), 2, 4)).toThrow(RangeError);
    expect(() => consistencyProof(leavesOf(3), 3, 2)).toThrow(RangeError);
  });
});

describe("streamed Merkle computations (O(log n) memory)", () => {
  const leavesOf = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));

  it("CompactRange gives MTH for every size, as the full tree does", () => {
    const leaves = leavesOf(70);
    const range = new CompactRange();
    expect(range.root()).toEqual(merkleRoot([]));
    for (const [index, leaf] of leaves.entries()) {
      range.add(leaf);
      expect(range.root(), `size ${index + 1}`).toEqual(merkleRoot(leaves.slice(0, index + 1)));
    }
  });

  it("StreamedConsistencyProof equals consistencyProof for every pair of sizes up to 40, and verifies", () => {
    const leaves = leavesOf(40);
    for (let n = 1; n <= 40; n++) {
      for (let m = 0; m <= n; m++) {
        const streamed = new StreamedConsistencyProof(m, n);
        for (const leaf of leaves.slice(0, n)) streamed.add(leaf);
        const proof = streamed.proof();
        expect(proof, `${m} → ${n}`).toEqual(consistencyProof(leaves, m, n));
        if (m > 0) {
          const claim = {
            oldSize: m,
            oldRoot: merkleRoot(leaves.slice(0, m)),
            newSize: n,
            newRoot: merkleRoot(leaves.slice(0, n)),
            proof,
          };
          expect(verifyConsistency(claim), `${m} → ${n}`).toBe(true);
        }
      }
    }
  });

  it("refuses to give a proof before it has seen every leaf", () => {
    const streamed = new StreamedConsistencyProof(3, 8);
    for (const leaf of leavesOf(7)) streamed.add(leaf);
    expect(() => streamed.proof()).toThrow(/only 7 leaves/);
  });
});
