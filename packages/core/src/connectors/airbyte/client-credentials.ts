import * as z from "zod";
import type { AuthProvider, HttpClient } from "../../http";
import { parseAnswer } from "../answer";

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive(),
});

/** How many issued tokens are remembered for redaction (older ones have expired anyway). */
const REMEMBERED_TOKENS = 8;

/**
 * Airbyte application credentials: exchanges client id and secret for a short-lived bearer token
 * (3 minutes on Airbyte Cloud) and renews it before it expires, at most a minute early and never
 * later than 80% of its life, so a request never sets out with a token about to lapse.
 */
export class ClientCredentialsAuth implements AuthProvider {
  private token: { value: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly issued: string[] = [];

  constructor(
    private readonly tokenClient: HttpClient,
    private readonly clientId: string,
    private readonly clientSecret: string,
    readonly credentialsHint: string,
    private readonly now: () => number,
  ) {}

  async authorize(options: { readonly deadline?: number } = {}): Promise<Record<string, string>> {
    if (!this.token || this.now() >= this.token.renewAt) {
      // Callers at the same moment share one token request (bounded by the first caller's deadline).
      this.pending ??= this.fetchToken(options.deadline).finally(() => {
        this.pending = undefined;
      });
      await this.pending;
    }
    return { authorization: `Bearer ${this.token?.value}` };
  }

  invalidate(): boolean {
    this.token = undefined;
    return true;
  }

  secrets(): readonly string[] {
    return [this.clientSecret, this.clientId, ...this.issued];
  }

  private async fetchToken(deadline: number | undefined): Promise<string> {
    const requestedAt = this.now();
    const response = await this.tokenClient.request({
      operation: "get access token",
      method: "POST",
      path: "/applications/token",
      // The spec requires `grant_type` but names the property `grant-type`; Airbyte reads the latter. Send both.
      body: {
        client_id: this.clientId,
        client_secret: this.clientSecret,
        grant_type: "client_credentials",
        "grant-type": "client_credentials",
      },
      // Asking for a token twice is harmless: retry it like a read.
      idempotent: true,
      deadline,
    });
    const answer = parseAnswer("airbyte", "the token request", tokenAnswer, response.body);
    const lifetimeMs = answer.expires_in * 1000;
    const margin = Math.min(60_000, lifetimeMs * 0.2);
    this.token = { value: answer.access_token, renewAt: requestedAt + lifetimeMs - margin };
    this.issued.push(answer.access_token);
    if (this.issued.length > REMEMBERED_TOKENS) this.issued.shift();
    return answer.access_token;
  }
}
