import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createSsmSecretReader,
  SecretReaderOptionsError,
  secretParameterName,
} from "../../packages/core/src/adapters/aws/ssm-secrets";
import {
  SecretNotSetError,
  SecretReadError,
  SecretUnavailableError,
  TapestryError,
} from "../../packages/core/src/errors";
import { InvalidNameError } from "../../packages/core/src/names";

const VALUE = "dbt-s3cr3t-value-9f2c";

function setup(options: { maxAgeSeconds?: number } = {}) {
  const client = new SSMClient({
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
  });
  const ssm = mockClient(client);
  const provider = new SSMProvider({ awsSdkV3Client: client });
  const read = createSsmSecretReader({ stage: "prod", provider, ...options });
  return { ssm, read };
}

describe("secretParameterName", () => {
  it("puts a secret under /tapestry/<stage>/", () => {
    expect(secretParameterName("prod", "AIRBYTE_CLIENT_ID")).toBe("/tapestry/prod/AIRBYTE_CLIENT_ID");
    expect(secretParameterName("pr-42", "DBT_CLOUD_TOKEN")).toBe("/tapestry/pr-42/DBT_CLOUD_TOKEN");
  });

  it.each([
    "../prod/DBT_CLOUD_TOKEN",
    "A/B",
    "dbt_cloud_token",
    "",
    "_TOKEN",
    "TOKEN-1",
    `A${"B".repeat(128)}`,
  ])("refuses the secret name %j with InvalidNameError, naming the rule", (name) => {
    expect(() => secretParameterName("prod", name)).toThrow(InvalidNameError);
    expect(() => secretParameterName("prod", name)).toThrow(/not a secret name: expected UPPER_SNAKE_CASE/);
  });

  it.each(["", "prod/../dev", "../prod", "prod/", "1prod", "a".repeat(33)])(
    "refuses the stage %j",
    (stage) => {
      expect(() => secretParameterName(stage, "DBT_CLOUD_TOKEN")).toThrow(InvalidNameError);
      expect(() => secretParameterName(stage, "DBT_CLOUD_TOKEN")).toThrow(/is not a stage name/);
    },
  );
});

describe("createSsmSecretReader", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-03-01T06:00:00Z"));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reads /tapestry/<stage>/<NAME> decrypted", async () => {
    const { ssm, read } = setup();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: VALUE } });

    expect(await read("DBT_CLOUD_TOKEN")).toBe(VALUE);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({
      Name: "/tapestry/prod/DBT_CLOUD_TOKEN",
      WithDecryption: true,
    });
  });

  it("answers from its cache for 300 s by default, then reads again", async () => {
    const { ssm, read } = setup();
    ssm
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Value: VALUE } })
      .resolves({ Parameter: { Value: "rotated-value" } });

    expect(await read("DBT_CLOUD_TOKEN")).toBe(VALUE);
    vi.setSystemTime(new Date("2026-03-01T06:04:59Z"));
    expect(await read("DBT_CLOUD_TOKEN")).toBe(VALUE);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);

    vi.setSystemTime(new Date("2026-03-01T06:05:01Z"));
    expect(await read("DBT_CLOUD_TOKEN")).toBe("rotated-value");
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it("caches each name on its own, for maxAgeSeconds", async () => {
    const { ssm, read } = setup({ maxAgeSeconds: 10 });
    ssm
      .on(GetParameterCommand, { Name: "/tapestry/prod/AIRBYTE_CLIENT_ID" })
      .resolves({ Parameter: { Value: "client-id" } })
      .on(GetParameterCommand, { Name: "/tapestry/prod/AIRBYTE_CLIENT_SECRET" })
      .resolves({ Parameter: { Value: "client-secret" } });

    expect(await read("AIRBYTE_CLIENT_ID")).toBe("client-id");
    expect(await read("AIRBYTE_CLIENT_SECRET")).toBe("client-secret");
    expect(await read("AIRBYTE_CLIENT_ID")).toBe("client-id");
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    vi.setSystemTime(new Date("2026-03-01T06:00:11Z"));
    await read("AIRBYTE_CLIENT_ID");
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(3);
  });

  it("turns a missing parameter into SecretNotSetError naming the secret and the fix, with no value in it", async () => {
    const { ssm, read } = setup();
    ssm
      .on(GetParameterCommand, { Name: "/tapestry/prod/DBT_CLOUD_TOKEN" })
      .resolves({ Parameter: { Value: VALUE } })
      .on(GetParameterCommand, { Name: "/tapestry/prod/AIRBYTE_CLIENT_ID" })
      .rejects(new ParameterNotFound({ message: "", $metadata: { httpStatusCode: 400 } }));

    await read("DBT_CLOUD_TOKEN");
    const error = await read("AIRBYTE_CLIENT_ID").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SecretNotSetError);
    expect(error).toBeInstanceOf(TapestryError);
    const notSet = error as SecretNotSetError;
    expect(notSet.name).toBe("SecretNotSetError");
    expect(notSet.message).toBe(
      "secret AIRBYTE_CLIENT_ID is not set for stage prod: run `tapestry secrets set AIRBYTE_CLIENT_ID --stage prod`",
    );
    expect(notSet.secret).toBe("AIRBYTE_CLIENT_ID");
    expect(notSet.stage).toBe("prod");
    expect(`${notSet.message}\n${notSet.stack}\n${JSON.stringify(notSet)}`).not.toContain(VALUE);
  });

  it("does not cache a missing secret: once set, it is read", async () => {
    const { ssm, read } = setup();
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(new ParameterNotFound({ message: "", $metadata: {} }))
      .resolves({ Parameter: { Value: VALUE } });

    await expect(read("GROUPAROO_API_KEY")).rejects.toBeInstanceOf(SecretNotSetError);
    expect(await read("GROUPAROO_API_KEY")).toBe(VALUE);
  });

  it("names the secret and the AWS error when SSM refuses the read: SecretReadError, which no retry cures", async () => {
    const { ssm, read } = setup();
    const denied = Object.assign(new Error("not authorized to perform: ssm:GetParameter"), {
      name: "AccessDeniedException",
      $metadata: { httpStatusCode: 400 },
    });
    ssm.on(GetParameterCommand).rejects(denied);

    const error = await read("GROUPAROO_API_KEY").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretReadError);
    expect((error as SecretReadError).name).toBe("SecretReadError");
    expect((error as SecretReadError).secret).toBe("GROUPAROO_API_KEY");
    expect((error as Error).message).toMatch(
      /could not read secret GROUPAROO_API_KEY of stage prod from SSM \(\/tapestry\/prod\/GROUPAROO_API_KEY\): AccessDeniedException: not authorized/,
    );
  });

  /** SSM's answers that say "not now" rather than "no", as the SDK raises them once its own retries are spent. */
  const TRANSIENT: readonly (readonly [string, Error])[] = [
    [
      "throttling",
      Object.assign(new Error("Rate exceeded"), {
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    [
      "a service error",
      Object.assign(new Error("internal error"), {
        name: "InternalServerError",
        $fault: "server",
        $metadata: { httpStatusCode: 500 },
      }),
    ],
    [
      "a request timeout",
      Object.assign(new Error("Connection timed out after 5000 ms"), { name: "TimeoutError" }),
    ],
    ["a reset connection", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })],
  ];

  it.each(TRANSIENT)(
    "turns %s into SecretUnavailableError, the name the state machine retries, with no value in it",
    async (_, failure) => {
      const { ssm, read } = setup();
      ssm.on(GetParameterCommand).rejects(failure);

      const error = await read("DBT_CLOUD_TOKEN").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretUnavailableError);
      const unavailable = error as SecretUnavailableError;
      expect(unavailable.name).toBe("SecretUnavailableError");
      expect(unavailable.secret).toBe("DBT_CLOUD_TOKEN");
      expect(unavailable.message).toMatch(
        /^secret DBT_CLOUD_TOKEN could not be read for now: SSM \(\/tapestry\/prod\/DBT_CLOUD_TOKEN\): .+: try again$/,
      );
      expect(unavailable.message).toContain(failure.message);
      expect(`${unavailable.message}\n${JSON.stringify(unavailable)}`).not.toContain(VALUE);
    },
  );

  it("reads the secret once SSM answers again (a transient failure is not cached)", async () => {
    const { ssm, read } = setup();
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(TRANSIENT[0]?.[1] as Error)
      .resolves({ Parameter: { Value: VALUE } });

    await expect(read("DBT_CLOUD_TOKEN")).rejects.toBeInstanceOf(SecretUnavailableError);
    expect(await read("DBT_CLOUD_TOKEN")).toBe(VALUE);
  });

  it("keeps a missing secret SecretNotSetError, never SecretUnavailableError (retrying cannot set it)", async () => {
    const { ssm, read } = setup();
    ssm
      .on(GetParameterCommand)
      .rejects(new ParameterNotFound({ message: "", $metadata: { httpStatusCode: 400 } }));

    const error = await read("DBT_CLOUD_TOKEN").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretNotSetError);
    expect(error).not.toBeInstanceOf(SecretUnavailableError);
  });

  it("refuses a parameter with no text value with SecretReadError naming the fix", async () => {
    const { ssm, read } = setup();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: "" } });

    const error = await read("DBT_CLOUD_TOKEN").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretReadError);
    expect((error as Error).message).toContain(
      "set it again with `tapestry secrets set DBT_CLOUD_TOKEN --stage prod`",
    );
  });

  it("refuses an invalid name without calling SSM", async () => {
    const { ssm, read } = setup();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: VALUE } });

    await expect(read("../dev/DBT_CLOUD_TOKEN")).rejects.toThrow(
      /not a secret name: expected UPPER_SNAKE_CASE/,
    );
    await expect(read("dbt_cloud_token")).rejects.toThrow(/not a secret name/);
    expect(ssm.calls()).toHaveLength(0);
  });

  it("refuses an invalid stage when built", () => {
    expect(() => createSsmSecretReader({ stage: "prod/../dev" })).toThrow(/is not a stage name/);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])(
    "refuses maxAgeSeconds %s when built",
    (maxAgeSeconds) => {
      expect(() => createSsmSecretReader({ stage: "prod", maxAgeSeconds })).toThrow(SecretReaderOptionsError);
      expect(() => createSsmSecretReader({ stage: "prod", maxAgeSeconds })).toThrow(
        /maxAgeSeconds must be 0 or more seconds/,
      );
    },
  );
});
