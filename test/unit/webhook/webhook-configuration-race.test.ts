// Replicas of a StatefulSet start together and each ensures the ValidatingWebhookConfiguration:
// the one that loses the create (409 AlreadyExists) or the replace (409 Conflict) must read it
// again and carry on, not fail its start-up (it would then never become Ready).
import { ApiException, type V1ValidatingWebhookConfiguration } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  ensureWebhookConfigurationWith,
  type WebhookConfigurationApi,
} from "../../../src/adapters/kube/webhook-configuration.js";
import { buildWebhookConfiguration } from "../../../src/webhook/configuration.js";

const endpoint = { service: { namespace: "aegis-system", name: "aegis-webhook", port: 443 } };
const desired = (ca: string): V1ValidatingWebhookConfiguration =>
  buildWebhookConfiguration(endpoint, ca, "aegis-system");

/** One stored configuration with a resourceVersion; `beforeWrite` lets "another replica" act first. */
class FakeApi implements WebhookConfigurationApi {
  stored: V1ValidatingWebhookConfiguration | undefined;
  version = 0;
  writes: string[] = [];
  beforeWrite: (() => void) | undefined;

  storeFromElsewhere(config: V1ValidatingWebhookConfiguration): void {
    this.version += 1;
    this.stored = structuredClone({
      ...config,
      metadata: { ...config.metadata, resourceVersion: String(this.version) },
    });
  }

  readValidatingWebhookConfiguration(): Promise<V1ValidatingWebhookConfiguration> {
    if (!this.stored) return Promise.reject(new ApiException(404, "not found", {}, {}));
    return Promise.resolve(structuredClone(this.stored));
  }

  createValidatingWebhookConfiguration(param: {
    body: V1ValidatingWebhookConfiguration;
  }): Promise<V1ValidatingWebhookConfiguration> {
    this.interleave();
    if (this.stored) return Promise.reject(new ApiException(409, "AlreadyExists", {}, {}));
    this.writes.push("create");
    this.storeFromElsewhere(param.body);
    return Promise.resolve(structuredClone(param.body));
  }

  replaceValidatingWebhookConfiguration(param: {
    name: string;
    body: V1ValidatingWebhookConfiguration;
  }): Promise<V1ValidatingWebhookConfiguration> {
    this.interleave();
    if (param.body.metadata?.resourceVersion !== String(this.version))
      return Promise.reject(new ApiException(409, "Conflict", {}, {}));
    this.writes.push("replace");
    this.storeFromElsewhere(param.body);
    return Promise.resolve(structuredClone(param.body));
  }

  private interleave(): void {
    const act = this.beforeWrite;
    this.beforeWrite = undefined;
    act?.();
  }
}

describe("ensureWebhookConfiguration when replicas race", () => {
  it("creates it when absent", async () => {
    const api = new FakeApi();
    expect(await ensureWebhookConfigurationWith(api, desired("CA"))).toBe("created");
    expect(api.writes).toEqual(["create"]);
  });

  it("losing the create to a replica with the same CA: reads it again and finds it unchanged", async () => {
    const api = new FakeApi();
    api.beforeWrite = () => api.storeFromElsewhere(desired("CA"));
    expect(await ensureWebhookConfigurationWith(api, desired("CA"))).toBe("unchanged");
    expect(api.writes).toEqual([]);
  });

  it("losing the create to a replica with another CA: replaces it with its own", async () => {
    const api = new FakeApi();
    api.beforeWrite = () => api.storeFromElsewhere(desired("OLD"));
    expect(await ensureWebhookConfigurationWith(api, desired("NEW"))).toBe("updated");
    expect(api.stored?.webhooks?.[0]?.clientConfig.caBundle).toBe(desired("NEW").webhooks?.[0]?.clientConfig.caBundle);
  });

  it("losing a replace (409 Conflict): reads the new version and decides again", async () => {
    const api = new FakeApi();
    api.storeFromElsewhere(desired("OLD"));
    api.beforeWrite = () => api.storeFromElsewhere(desired("NEW"));
    expect(await ensureWebhookConfigurationWith(api, desired("NEW"))).toBe("unchanged");
  });

  it("still fails on other errors, and after losing every round", async () => {
    const failing: WebhookConfigurationApi = {
      readValidatingWebhookConfiguration: () => Promise.reject(new ApiException(403, "forbidden", {}, {})),
      createValidatingWebhookConfiguration: () => Promise.reject(new Error("unused")),
      replaceValidatingWebhookConfiguration: () => Promise.reject(new Error("unused")),
    };
    await expect(ensureWebhookConfigurationWith(failing, desired("CA"))).rejects.toThrow(/reading .* HTTP 403/);
    const alwaysTaken: WebhookConfigurationApi = {
      readValidatingWebhookConfiguration: () => Promise.reject(new ApiException(404, "not found", {}, {})),
      createValidatingWebhookConfiguration: () => Promise.reject(new ApiException(409, "AlreadyExists", {}, {})),
      replaceValidatingWebhookConfiguration: () => Promise.reject(new Error("unused")),
    };
    await expect(ensureWebhookConfigurationWith(alwaysTaken, desired("CA"))).rejects.toThrow(/creating .* HTTP 409/);
  });
});
