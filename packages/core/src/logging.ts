/**
 * The logging port of core. Adapters (Powertools Logger in Lambda, the console locally) implement
 * it; core never imports a logging library. Attributes must already be free of secrets: the HTTP
 * client redacts before it logs.
 */
export interface Logger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export const REDACTED = "[REDACTED]";

/**
 * Replaces every occurrence of each secret (and of its URL-encoded form, which is how a secret
 * leaks through query strings and form bodies) with a marker. Secrets shorter than 4 characters
 * are ignored: redacting "a" would shred every message and such a value is no secret anyway.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      out = out.split(form).join(REDACTED);
    }
  }
  return out;
}
