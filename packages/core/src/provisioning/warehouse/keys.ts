import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { SecretReadError } from "../../errors";

/**
 * Key pairs for Snowflake's key-pair (JWT) sign-in, with node:crypto only: RSA 2048 (Snowflake's
 * minimum, and what Airbyte's and Grouparoo's Snowflake connectors take), the private key as an
 * unencrypted PKCS#8 PEM (it is kept only as an encrypted SecureString), the public key as
 * Snowflake's RSA_PUBLIC_KEY wants it (base64 DER, the PEM body without delimiters), and the
 * fingerprint as Snowflake shows it in RSA_PUBLIC_KEY_FP ("SHA256:" + base64 of the DER's SHA-256).
 */

export const RSA_MODULUS_BITS = 2048;

export interface KeyPair {
  /** PKCS#8 PEM with real newlines */
  readonly privateKeyPem: string;
  readonly publicKey: string;
  readonly fingerprint: string;
}

const generate = promisify(generateKeyPair);

export async function generateServiceKeyPair(): Promise<KeyPair> {
  const { privateKey } = await generate("rsa", { modulusLength: RSA_MODULUS_BITS });
  return keyPairOf(privateKey);
}

function keyPairOf(privateKey: KeyObject): KeyPair {
  const der = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: der.toString("base64"),
    fingerprint: `SHA256:${createHash("sha256").update(der).digest("base64")}`,
  };
}

/**
 * A PEM as people store it: with real newlines, or with the two characters "\n" where the newlines
 * were (what a key looks like after a trip through JSON or an environment file). The SDK needs real ones.
 */
export function withRealNewlines(pem: string): string {
  const trimmed = pem.trim();
  return trimmed.includes("\n") ? trimmed : trimmed.replaceAll("\\n", "\n");
}

/**
 * The key pair of a stored private key (a service user's, kept by the bootstrap). A value that is
 * not an unencrypted private key is a SecretReadError naming the secret and the way out; the value
 * is never repeated.
 */
export function keyPairOfStored(secret: string, pem: string): KeyPair {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: withRealNewlines(pem), format: "pem" });
  } catch (error) {
    throw new SecretReadError(
      secret,
      `secret ${secret} does not hold an unencrypted PEM private key: remove it (\`tapestry secrets remove ${secret}\`) and run the bootstrap again to have a new key pair made`,
      { cause: redactedCause(error) },
    );
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw new SecretReadError(
      secret,
      `secret ${secret} holds a ${key.asymmetricKeyType ?? "non-RSA"} key; Snowflake takes RSA keys: remove it and run the bootstrap again to have a new key pair made`,
    );
  }
  return keyPairOf(key);
}

/**
 * The admin's private key as snowflake-sdk 2.x takes it inline: an unencrypted PKCS#8 PEM with real
 * newlines. The SDK ignores `privateKeyPass` for an inline key, so an encrypted key is decrypted
 * here with its passphrase.
 */
export function adminPrivateKeyPem(
  secret: string,
  pem: string,
  passphrase?: { readonly secret: string; readonly value: string },
): string {
  const text = withRealNewlines(pem);
  // PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY", or a traditional OpenSSL key with a Proc-Type header
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text);
  if (encrypted && passphrase === undefined) {
    throw new SecretReadError(
      secret,
      `secret ${secret} holds an encrypted private key and the config names no passphrase: set warehouse.admin.auth.passphraseSecret to the secret that holds it`,
    );
  }
  try {
    const key = createPrivateKey({ key: text, format: "pem", passphrase: passphrase?.value });
    return key.export({ type: "pkcs8", format: "pem" }).toString();
  } catch (error) {
    throw new SecretReadError(
      secret,
      encrypted
        ? `the passphrase in secret ${passphrase?.secret} does not open the private key in secret ${secret}: set the right one with \`tapestry secrets set\``
        : `secret ${secret} does not hold a PEM private key (PKCS#8 "BEGIN PRIVATE KEY" or "BEGIN ENCRYPTED PRIVATE KEY"): set it again with \`tapestry secrets set ${secret}\``,
      { cause: redactedCause(error) },
    );
  }
}

/** node:crypto's errors carry no key material, but only their name and code are kept, to be sure. */
function redactedCause(error: unknown): Error {
  const cause = new Error(
    error instanceof Error
      ? `${error.name} (${(error as { code?: string }).code ?? "no code"})`
      : "not an Error",
  );
  cause.name = "KeyParseError";
  return cause;
}
