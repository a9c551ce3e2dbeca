import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { type StubCall, startStubServer } from "../support/stub-server";

/**
 * API Gateway's IAM authorization, stood in for on 127.0.0.1: a request must carry a SigV4
 * Authorization header for `execute-api` in `region`, made with `credentials`, whose signature
 * covers at least host and x-amz-date, dated within 5 minutes, for the Host it arrived with. The
 * signature is recomputed (with the root's own copy of the signer, not the CLI's) from the request
 * as received. A request that passes is forwarded to `target` (the embedded status API); one that
 * does not gets API Gateway's 403 `{"message":"Forbidden"}` and the reason is recorded.
 */
export async function startApiGatewayStandIn(options: {
  readonly target: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}) {
  const refusals: string[] = [];
  const authorized: StubCall[] = [];
  const server = await startStubServer([
    (call, res) => {
      verify(call, options)
        .then(async (problem) => {
          if (problem) {
            refusals.push(problem);
            res.writeHead(403, { "content-type": "application/json" }).end('{"message":"Forbidden"}');
            return;
          }
          authorized.push(call);
          const answer = await fetch(`${options.target}${call.url}`, {
            method: call.method,
            headers: {
              ...(call.headers["content-type"]
                ? { "content-type": String(call.headers["content-type"]) }
                : {}),
            },
            ...(call.body ? { body: call.body } : {}),
          });
          res
            .writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "" })
            .end(await answer.text());
        })
        .catch((error: unknown) => {
          res.writeHead(500).end(String(error));
        });
    },
  ]);
  return { ...server, refusals, authorized };
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/execute-api\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/** Why the request is refused, or undefined when it is signed as API Gateway requires. */
async function verify(
  call: StubCall,
  options: Parameters<typeof startApiGatewayStandIn>[0],
): Promise<string | undefined> {
  const authorization = String(call.headers.authorization ?? "");
  const match = AUTHORIZATION.exec(authorization);
  if (!match) return `no SigV4 Authorization header for execute-api: ${JSON.stringify(authorization)}`;
  const [, keyId, day, region, signedList = ""] = match;
  if (keyId !== options.credentials.accessKeyId) return `signed with another key: ${keyId}`;
  if (region !== options.region) return `signed for region ${region}`;
  const signedHeaders = signedList.split(";");
  for (const required of ["host", "x-amz-date"]) {
    if (!signedHeaders.includes(required)) return `${required} is not signed`;
  }
  const amzDate = String(call.headers["x-amz-date"] ?? "");
  const stamp = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!stamp) return `x-amz-date is not a SigV4 date: ${amzDate}`;
  const signingDate = new Date(`${stamp[1]}-${stamp[2]}-${stamp[3]}T${stamp[4]}:${stamp[5]}:${stamp[6]}Z`);
  if (amzDate.slice(0, 8) !== day) return "the credential scope's date is not the request's";
  if (Math.abs(Date.now() - signingDate.getTime()) > 5 * 60_000)
    return "the request is dated more than 5 minutes away";
  const host = String(call.headers.host ?? "");
  const url = new URL(call.url, `http://${host}`);
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(call.headers[name] ?? "")]));
  const signer = new SignatureV4({
    service: "execute-api",
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const expected = await signer.sign(
    {
      method: call.method,
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers,
      ...(call.body ? { body: call.body } : {}),
    },
    { signingDate },
  );
  if (expected.headers.authorization !== authorization) {
    return `the signature does not match the request as received (host ${host})`;
  }
  return undefined;
}
