// The form in which a trained model is shared: one `risk.model` evidence record per version,
// signed with the evidence key. Every replica scores with the newest record it can verify, so
// all of them name the same model; the ledger keeps every version an auditor may need to replay
// a past score. A record that does not verify (a forged row, a key AEGIS does not hold) is never
// used.
import { sign, verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "../../json/canonical-json.js";
import { modelVersion, type RiskModel } from "./model.js";

/** The subject of every `risk.model` record: one stream, read newest first by the (subject, seq) index. */
export const RISK_MODEL_SUBJECT = "RiskModel/aegis";

const weightsSchema = z.record(z.string(), z.number().finite());

export const riskModelSchema = z.object({
  version: z.literal(2),
  bias: z.number().finite(),
  weights: weightsSchema,
  prior: z.object({ bias: z.number().finite(), weights: weightsSchema }),
  trainedOn: z.number().int().min(0),
});

export const publishedModelSchema = z.object({
  modelVersion: z.string().regex(/^v2-[0-9a-f]{12}$/),
  model: riskModelSchema,
  keyId: z.string().min(1),
  /** Ed25519 over the RFC 8785 JSON of `{modelVersion, model}`, hex. */
  signature: z.string().regex(/^[0-9a-f]+$/),
});
export type PublishedModel = z.infer<typeof publishedModelSchema>;

function signedBytes(version: string, model: RiskModel): Buffer {
  return Buffer.from(canonicalJson({ modelVersion: version, model }), "utf8");
}

export function publishModel(model: RiskModel, key: { privateKey: KeyObject; keyId: string }): PublishedModel {
  const version = modelVersion(model);
  return {
    modelVersion: version,
    model,
    keyId: key.keyId,
    signature: sign(null, signedBytes(version, model), key.privateKey).toString("hex"),
  };
}

/** The model of a `risk.model` record's data, or why it may not be used. */
export function verifyPublishedModel(
  data: unknown,
  publicKey: KeyObject,
): { model: RiskModel; version: string } | { error: string } {
  const parsed = publishedModelSchema.safeParse(data);
  if (!parsed.success) return { error: `not a published model: ${parsed.error.issues[0]?.message ?? "unreadable"}` };
  const { model, modelVersion: version, signature } = parsed.data;
  if (modelVersion(model) !== version)
    return { error: `its weights are not those of ${version} (they hash to ${modelVersion(model)})` };
  if (!verify(null, signedBytes(version, model), publicKey, Buffer.from(signature, "hex")))
    return { error: `its signature does not verify with AEGIS's evidence key` };
  return { model, version };
}
