/** How a client proves who it is to a tool. Implementations keep their secrets to themselves. */
export interface AuthProvider {
  /**
   * Headers for the next request; may fetch or refresh a token first, within the request's
   * deadline (ms since the epoch) when it has one.
   */
  authorize(options?: { readonly deadline?: number }): Promise<Record<string, string>>;
  /** The tool said our credentials are no good: drop cached ones. True when retrying with fresh ones can help. */
  invalidate(): boolean;
  /** Every secret value this provider holds or has held, so that nothing echoes them. */
  secrets(): readonly string[];
  /** Where the user fixes rejected credentials, e.g. `the secret "DBT_CLOUD_TOKEN"`. */
  readonly credentialsHint: string;
}

export const noAuth: AuthProvider = {
  authorize: async () => ({}),
  invalidate: () => false,
  secrets: () => [],
  credentialsHint: "the tool's own access settings (no credentials are sent)",
};

/** A long-lived credential sent the same way on every request (API key, personal or service token). */
export function staticHeaderAuth(
  header: string,
  scheme: string,
  value: string,
  secretName: string,
): AuthProvider {
  return {
    authorize: async () => ({ [header]: `${scheme} ${value}` }),
    invalidate: () => false,
    secrets: () => [value],
    credentialsHint: `the secret "${secretName}"`,
  };
}

/** Credentials that travel in the request body (a token endpoint): no headers, still secrets to redact. */
export function bodyCredentials(values: readonly string[], credentialsHint: string): AuthProvider {
  return {
    authorize: async () => ({}),
    invalidate: () => false,
    secrets: () => values,
    credentialsHint,
  };
}
