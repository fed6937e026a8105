// PolicyReports (wgpolicyk8s.io/v1alpha2) AEGIS writes, found by its managed-by label.
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { z } from "zod";
import {
  policyReportSchema,
  REPORT_GROUP,
  REPORT_VERSION,
  type PolicyReport,
} from "../../api/wgpolicyk8s/policy-report.js";
import type { PolicyReportReader, PolicyReportStore } from "../../ports/reports.js";
import { isNotFound, kubeErrorMessage } from "./errors.js";

const PLURAL = "policyreports";
const listSchema = z.object({ items: z.array(z.unknown()) });

export class KubePolicyReportStore implements PolicyReportStore, PolicyReportReader {
  private readonly api: CustomObjectsApi;

  constructor(
    kubeConfig: KubeConfig,
    /** `key=value` of the label that marks AEGIS's reports. */
    private readonly labelSelector: string,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async list(namespace: string): Promise<PolicyReport[]> {
    const body = listSchema.parse(
      await this.api
        .listNamespacedCustomObject({
          group: REPORT_GROUP,
          version: REPORT_VERSION,
          namespace,
          plural: PLURAL,
          labelSelector: this.labelSelector,
        })
        .catch((error: unknown) => {
          throw new Error(`listing PolicyReports in ${namespace}: ${kubeErrorMessage(error)}`, { cause: error });
        }),
    );
    return body.items.map((item, index) => parseReport(item, `${index} in ${namespace}`));
  }

  async listAll(): Promise<PolicyReport[]> {
    const body = listSchema.parse(
      await this.api
        .listClusterCustomObject({
          group: REPORT_GROUP,
          version: REPORT_VERSION,
          plural: PLURAL,
          labelSelector: this.labelSelector,
        })
        .catch((error: unknown) => {
          throw new Error(`listing PolicyReports in every namespace: ${kubeErrorMessage(error)}`, { cause: error });
        }),
    );
    return body.items.map((item, index) => parseReport(item, `${index} of every namespace's`));
  }

  async put(report: PolicyReport, previous: PolicyReport | undefined): Promise<void> {
    const { namespace, name } = report.metadata;
    const where = `PolicyReport ${namespace}/${name}`;
    try {
      if (previous === undefined) {
        await this.api.createNamespacedCustomObject({
          group: REPORT_GROUP,
          version: REPORT_VERSION,
          namespace,
          plural: PLURAL,
          body: report,
        });
      } else {
        await this.api.replaceNamespacedCustomObject({
          group: REPORT_GROUP,
          version: REPORT_VERSION,
          namespace,
          plural: PLURAL,
          name,
          body: { ...report, metadata: { ...report.metadata, resourceVersion: previous.metadata.resourceVersion } },
        });
      }
    } catch (error) {
      throw new Error(`writing ${where}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }

  async remove(namespace: string, name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({
        group: REPORT_GROUP,
        version: REPORT_VERSION,
        namespace,
        plural: PLURAL,
        name,
      });
    } catch (error) {
      if (isNotFound(error)) return;
      throw new Error(`deleting PolicyReport ${namespace}/${name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }
}

function parseReport(item: unknown, where: string): PolicyReport {
  const parsed = policyReportSchema.safeParse(item);
  if (!parsed.success) throw new Error(`PolicyReport ${where} is not a v1alpha2 report: ${parsed.error.message}`);
  return parsed.data;
}
