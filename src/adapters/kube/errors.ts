import { ApiException } from "@kubernetes/client-node";

/** The HTTP status of a client-node ApiException, or undefined for any other error. */
export function statusCodeOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export const isNotFound = (error: unknown): boolean => statusCodeOf(error) === 404;
export const isAlreadyExists = (error: unknown): boolean => statusCodeOf(error) === 409;
export const isConflict = (error: unknown): boolean => statusCodeOf(error) === 409;

/** An error message that keeps the API server's own explanation (the Status body's message). */
export function kubeErrorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    const parsed = typeof body === "string" ? safeJson(body) : body;
    const message = (parsed as { message?: unknown } | null)?.message;
    return `HTTP ${error.code}${typeof message === "string" ? `: ${message}` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
