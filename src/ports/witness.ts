/** One HTTP exchange with a C2SP tlog-witness (`POST <prefix>/add-checkpoint`). */
export interface WitnessResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Carries add-checkpoint requests to one witness; the protocol itself lives in evidence/publish. */
export interface WitnessTransport {
  /** Where the witness is, for logs and errors. */
  readonly url: string;
  addCheckpoint(body: string): Promise<WitnessResponse>;
}
