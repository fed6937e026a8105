import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  EMPTY_TREE_ROOT,
  leafHash,
  merkleRoot,
  MerkleTree,
  nodeHash,
  verifyInclusion,
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
