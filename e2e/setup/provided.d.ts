// Values the e2e global setup hands to the test files through `inject()`.
export {};

declare module "vitest" {
  export interface ProvidedContext {
    /** Absolute path of the admin kubeconfig of the cluster the e2e tests run against. */
    kubeconfig: string;
  }
}
