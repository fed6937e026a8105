/**
 * Thrown (or rejected) by a reconcile function when retrying cannot help, e.g. an invalid spec.
 * The controller does not requeue it; the reconciler is expected to have surfaced the problem
 * (a condition, an event) before throwing. A later change to the object enqueues it again.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TerminalError";
  }
}

export function isTerminalError(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}

/** A readable one-line description of anything thrown (`JSON.stringify(err)` gives `{}`). */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
