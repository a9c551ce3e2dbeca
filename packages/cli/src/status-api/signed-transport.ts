import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { joinUrl, type Transport } from "./client";
import { AwsCredentialsError } from "./errors";

/** The credentials the AWS SDK resolves (its default chain: env, profile, SSO, container, instance). */
export type CredentialsProvider = () => Promise<{
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}>;

/** API Gateway's service name in a SigV4 credential scope. */
const SERVICE = "execute-api";

/**
 * A transport that signs each request with SigV4 (the SDK's signer, the user's credentials) for a
 * deployed stage's status API, whose routes use IAM authorization. Only the headers that are sent
 * are signed, so the request arrives exactly as signed.
 */
export function signedTransport(options: {
  readonly baseUrl: string;
  readonly region: string;
  readonly credentials: CredentialsProvider;
  readonly fetch?: typeof fetch;
}): Transport {
  const credentials = async () => {
    try {
      return await options.credentials();
    } catch (error) {
      throw new AwsCredentialsError(
        `no AWS credentials to sign the request with (${error instanceof Error ? error.message : String(error)}): run \`aws configure\`, set AWS_PROFILE=<profile>, or run \`aws sso login --profile <profile>\``,
        { cause: error },
      );
    }
  };
  const signer = new SignatureV4({ service: SERVICE, region: options.region, credentials, sha256: Sha256 });
  const fetchImpl = options.fetch ?? fetch;
  return async (request) => {
    const url = joinUrl(options.baseUrl, request.path);
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const headers: Record<string, string> = { host: url.host, accept: "application/json" };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    const signed = await signer.sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    // fetch sets Host itself, from the URL: the same value that was signed
    const { host: _host, ...sent } = signed.headers;
    const response = await fetchImpl(url, {
      method: request.method,
      headers: sent,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? undefined,
      body: await response.text(),
    };
  };
}
