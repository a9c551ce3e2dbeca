import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * The checks that authenticate a webhook, each in constant time: both sides are hashed to the same
 * length first, so neither the comparison's time nor an early length mismatch tells a caller how
 * much of a guess was right.
 */

function sameText(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Airbyte: the secret in the webhook's URL (`/webhooks/airbyte/<secret>`) is the configured one. */
export function urlSecretMatches(given: string | undefined, secret: string): boolean {
  return given !== undefined && secret.length > 0 && sameText(given, secret);
}

/** The hex HMAC-SHA256 of `body` keyed by `key`: what dbt Cloud sends in `Authorization`. */
export function hmacSignature(body: Buffer, key: string): string {
  return createHmac("sha256", key).update(body).digest("hex");
}

/** dbt Cloud: `Authorization` is the hex HMAC-SHA256 of the raw body, keyed by the webhook's secret. */
export function signatureMatches(body: Buffer, authorization: string | undefined, key: string): boolean {
  if (authorization === undefined || key.length === 0) return false;
  return sameText(authorization.trim().toLowerCase(), hmacSignature(body, key));
}
