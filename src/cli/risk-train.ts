// `aegis risk train`: asks AEGIS's REST API to retrain the risk model now from the ledger's human
// decisions (the leader also does every 10 minutes). The caller's token decides: verb update on
// aegispolicies, checked by AEGIS with a SubjectAccessReview.
import { z } from "zod";

interface Output {
  write(text: string): unknown;
}

const trainingReplySchema = z.object({
  version: z.string(),
  trainedOn: z.number(),
  weights: z.record(z.string(), z.number()),
  bias: z.number(),
  published: z.boolean(),
  learnt: z.number(),
});
export type TrainingReply = z.infer<typeof trainingReplySchema>;

export interface RiskTrainOptions {
  url?: string;
  token?: string;
  output: "text" | "json";
}

export function formatTrainingReply(reply: TrainingReply): string {
  const head = reply.published
    ? `published risk model ${reply.version}, trained on ${reply.trainedOn} human decisions (${reply.learnt} new); every replica scores with it within 30 s`
    : `risk model ${reply.version} (trained on ${reply.trainedOn} human decisions) is unchanged: ${reply.learnt} new decisions did not move its weights`;
  const weights = Object.entries(reply.weights)
    .sort(([, a], [, b]) => b - a)
    .map(([name, points]) => `  ${name.padEnd(24)} ${points >= 0 ? "+" : ""}${points}`);
  return [head, "weights (points; 40 = a 50 % chance a human rejects):", ...weights].join("\n");
}

export async function riskTrainCommand(options: RiskTrainOptions, out: Output, env = process.env): Promise<void> {
  const url = options.url ?? env["AEGIS_API_URL"];
  const token = options.token ?? env["AEGIS_TOKEN"];
  if (!url) throw new Error("no API URL: give --url https://aegis.example:8750 or set AEGIS_API_URL");
  if (!token)
    throw new Error(
      "no token: give --token or set AEGIS_TOKEN (e.g. AEGIS_TOKEN=$(kubectl create token NAME --audience aegis))",
    );
  let response: Response;
  try {
    response = await fetch(`${url.replace(/\/+$/, "")}/api/risk/train`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
  } catch (error) {
    throw new Error(
      `cannot reach ${url}: ${error instanceof Error ? error.message : String(error)} (for a private CA, set NODE_EXTRA_CA_CERTS)`,
      { cause: error },
    );
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (body as { message?: unknown } | null)?.message;
    throw new Error(`${url} answered ${response.status}: ${typeof message === "string" ? message : "no message"}`);
  }
  const reply = trainingReplySchema.safeParse(body);
  if (!reply.success)
    throw new Error(`${url} answered with an unexpected body: ${reply.error.issues[0]?.message ?? ""}`);
  out.write(
    options.output === "json" ? `${JSON.stringify(reply.data, null, 2)}\n` : `${formatTrainingReply(reply.data)}\n`,
  );
}
