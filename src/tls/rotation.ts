import type { ServingCertificate } from "./certificates.js";

export interface RotationTarget {
  updateCertificate(tls: { key: string; cert: string }): void;
}

export interface CertificateRotatorOptions {
  issue: () => Promise<ServingCertificate>;
  target: RotationTarget;
  /** Fraction of the lifetime after which a new certificate is issued (cert-manager renews at 2/3). */
  renewAtFraction?: number;
  onError: (error: unknown) => void;
  now?: () => number;
}

/**
 * Re-issues the webhook's serving certificate before it expires and swaps it into the running
 * server: connections in flight keep their session, new ones get the new certificate.
 */
export class CertificateRotator {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  rotations = 0;

  constructor(private readonly options: CertificateRotatorOptions) {}

  /** Schedules the renewal of `current`. */
  start(current: ServingCertificate, issuedAt: number): void {
    this.schedule(current, issuedAt);
  }

  async rotateNow(): Promise<ServingCertificate> {
    const next = await this.options.issue();
    this.options.target.updateCertificate({ key: next.keyPem, cert: next.certPem });
    this.rotations += 1;
    return next;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(current: ServingCertificate, issuedAt: number): void {
    if (this.stopped) return;
    const now = this.options.now ?? Date.now;
    const lifetime = current.notAfter.getTime() - issuedAt;
    const renewAt = issuedAt + lifetime * (this.options.renewAtFraction ?? 2 / 3);
    // setTimeout holds at most ~24.8 days; longer waits are re-armed in steps.
    const delay = Math.min(Math.max(renewAt - now(), 1_000), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      if (now() < renewAt) return this.schedule(current, issuedAt);
      this.rotateNow().then(
        (next) => this.schedule(next, now()),
        (error: unknown) => {
          this.options.onError(error);
          this.retryLater(current, issuedAt);
        },
      );
    }, delay);
    this.timer.unref();
  }

  private retryLater(current: ServingCertificate, issuedAt: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.schedule(current, issuedAt), 60_000);
    this.timer.unref();
  }
}
