import { resolve } from "node:path";
import { PassThrough } from "node:stream";
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { main } from "../../packages/cli/src/main";

const CONFIG = resolve(import.meta.dirname, "../../tapestry.config.ts");
const VALUE = "dbtc_Zq8x-s3cr3t-VALUE-41";
const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-real-key" };

/** Runs `tapestry ...` in-process against a mocked SSM client, with stdin piped (or a fake terminal). */
function harness(options: { stdin?: string; tty?: boolean; region?: SSMClient["config"]["region"] } = {}) {
  const client = new SSMClient({ region: options.region ?? "eu-west-1", credentials: CREDENTIALS });
  const ssm = mockClient(client);
  const createClient = vi.fn((_: { readonly region?: string }) => client);
  const input = Object.assign(new PassThrough(), {
    isTTY: options.tty ?? false,
    setRawMode: () => input,
  });
  if (!options.tty) input.end(options.stdin ?? "");
  const prompted: string[] = [];
  const prompt = { write: (s: string) => prompted.push(s) };
  const out: string[] = [];
  const err: string[] = [];
  const run = (...argv: string[]) =>
    main(argv, {
      secrets: {
        createClient,
        stdin: input as unknown as NodeJS.ReadStream,
        prompt: prompt as unknown as NodeJS.WriteStream,
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      },
    });
  const everything = () => [...out, ...err, ...prompted].join("\n");
  return { ssm, createClient, input, run, out, err, prompted, everything };
}

describe("tapestry secrets set", () => {
  it("stores the value piped on stdin as a SecureString, overwriting, tagged, and never prints it", async () => {
    const h = harness({ stdin: `${VALUE}\n` });
    h.ssm.on(PutParameterCommand).resolves({ Version: 2, Tier: "Standard" });
    h.ssm.on(AddTagsToResourceCommand).resolves({});

    const code = await h.run("secrets", "set", "DBT_CLOUD_TOKEN", "--stage", "prod", "--config", CONFIG);

    expect(code).toBe(0);
    const puts = h.ssm.commandCalls(PutParameterCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.args[0].input).toMatchObject({
      Name: "/tapestry/prod/DBT_CLOUD_TOKEN",
      Value: VALUE,
      Type: "SecureString",
      Overwrite: true,
    });
    expect(puts[0]?.args[0].input.KeyId).toBeUndefined();
    expect(puts[0]?.args[0].input.Tags).toBeUndefined();
    expect(h.ssm.commandCalls(AddTagsToResourceCommand)[0]?.args[0].input).toEqual({
      ResourceType: "Parameter",
      ResourceId: "/tapestry/prod/DBT_CLOUD_TOKEN",
      Tags: [
        { Key: "app", Value: "tapestry" },
        { Key: "stage", Value: "prod" },
      ],
    });
    expect(h.out).toEqual([
      "set DBT_CLOUD_TOKEN for stage prod: /tapestry/prod/DBT_CLOUD_TOKEN in eu-west-1 (SecureString, version 2)",
    ]);
    expect(h.err).toEqual([]);
    expect(h.everything()).not.toContain(VALUE);
    expect(h.createClient).toHaveBeenCalledWith({ region: undefined });
  });

  it("passes --region to the client", async () => {
    const h = harness({ stdin: VALUE });
    h.ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const args = ["secrets", "set", "GROUPAROO_API_KEY", "--stage", "dev", "--region", "us-west-2"];
    expect(await h.run(...args, "--config", CONFIG)).toBe(0);
    expect(h.createClient).toHaveBeenCalledWith({ region: "us-west-2" });
  });

  it("warns, but stores, a name the config does not reference", async () => {
    const h = harness({ stdin: VALUE });
    h.ssm.on(PutParameterCommand).resolves({ Version: 1 });

    expect(await h.run("secrets", "set", "SNOWFLAKE_PASSWORD", "--stage", "prod", "--config", CONFIG)).toBe(
      0,
    );
    expect(h.err.join("\n")).toMatch(
      /warning: .*tapestry\.config\.ts does not reference a secret named SNOWFLAKE_PASSWORD/,
    );
    expect(h.ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Name).toBe(
      "/tapestry/prod/SNOWFLAKE_PASSWORD",
    );
    expect(h.everything()).not.toContain(VALUE);
  });

  it.each(["dbt_cloud_token", "../dev/DBT_CLOUD_TOKEN", "DBT-CLOUD-TOKEN"])(
    "refuses the name %j with exit 2, naming the rule, before reading stdin or calling AWS",
    async (name) => {
      const h = harness({ stdin: VALUE });
      expect(await h.run("secrets", "set", name, "--stage", "prod", "--config", CONFIG)).toBe(2);
      expect(h.err.join("\n")).toMatch(/not a secret name: expected UPPER_SNAKE_CASE/);
      expect(h.createClient).not.toHaveBeenCalled();
      expect(h.ssm.calls()).toHaveLength(0);
      expect(h.input.readableEnded).toBe(false);
    },
  );

  it("refuses a bad stage with exit 2 and no AWS call", async () => {
    const h = harness({ stdin: VALUE });
    expect(
      await h.run("secrets", "set", "DBT_CLOUD_TOKEN", "--stage", "prod/../dev", "--config", CONFIG),
    ).toBe(2);
    expect(h.err.join("\n")).toMatch(/is not a stage name/);
    expect(h.ssm.calls()).toHaveLength(0);
  });

  it.each(["", "\n"])("refuses an empty stdin (%j) with exit 2 and no AWS call", async (stdin) => {
    const h = harness({ stdin });
    expect(await h.run("secrets", "set", "DBT_CLOUD_TOKEN", "--stage", "prod", "--config", CONFIG)).toBe(2);
    expect(h.err.join("\n")).toMatch(
      /no value for DBT_CLOUD_TOKEN on stdin: pipe it in, e\.g\. printf %s "\$TOKEN" \| tapestry secrets set DBT_CLOUD_TOKEN --stage prod/,
    );
    expect(h.createClient).not.toHaveBeenCalled();
    expect(h.ssm.calls()).toHaveLength(0);
  });

  it.each([
    ["a second argument", ["DBT_CLOUD_TOKEN", VALUE]],
    ["an unknown option", ["DBT_CLOUD_TOKEN", `--value=${VALUE}`]],
    ["an unknown option before the name", [`--value=${VALUE}`, "DBT_CLOUD_TOKEN"]],
    ["the value where the name belongs", [VALUE]],
  ])("never takes the value from the command line, nor repeats it: %s", async (_, args) => {
    const h = harness({ stdin: "" });
    const code = await h.run("secrets", "set", ...args, "--stage", "prod", "--config", CONFIG);
    expect(code).toBe(2);
    expect(h.everything()).not.toContain(VALUE);
    expect(h.everything()).toMatch(/not repeated/);
    expect(h.ssm.calls()).toHaveLength(0);
  });

  it("asks for the value with hidden input on a terminal", async () => {
    const h = harness({ tty: true });
    h.ssm.on(PutParameterCommand).resolves({ Version: 4 });
    const done = h.run("secrets", "set", "GROUPAROO_API_KEY", "--stage", "prod", "--config", CONFIG);
    setTimeout(() => h.input.write(`${VALUE}\n`), 20);

    expect(await done).toBe(0);
    expect(h.prompted.join("")).toBe("GROUPAROO_API_KEY (input hidden): \n");
    expect(h.ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value).toBe(VALUE);
    expect(h.everything()).not.toContain(VALUE);
  });

  it("reports an AWS failure with exit 1 and never echoes the value, even when AWS does", async () => {
    const h = harness({ stdin: VALUE });
    const rejected = Object.assign(
      new Error(`1 validation error detected: Value '${VALUE}' at 'value' failed to satisfy constraint`),
      { name: "ValidationException", $metadata: { httpStatusCode: 400 } },
    );
    h.ssm.on(PutParameterCommand).rejects(rejected);

    expect(await h.run("secrets", "set", "DBT_CLOUD_TOKEN", "--stage", "prod", "--config", CONFIG)).toBe(1);
    expect(h.err.join("\n")).toMatch(
      /could not store secret DBT_CLOUD_TOKEN of stage prod in SSM \(\/tapestry\/prod\/DBT_CLOUD_TOKEN\): ValidationException: 1 validation error detected: Value '\[REDACTED\]'/,
    );
    expect(h.everything()).not.toContain(VALUE);
    expect(h.ssm.commandCalls(AddTagsToResourceCommand)).toHaveLength(0);
  });

  it("says the value is stored when only tagging fails (exit 1)", async () => {
    const h = harness({ stdin: VALUE });
    h.ssm.on(PutParameterCommand).resolves({ Version: 3 });
    h.ssm.on(AddTagsToResourceCommand).rejects(
      Object.assign(new Error("not authorized to perform: ssm:AddTagsToResource"), {
        name: "AccessDeniedException",
      }),
    );

    expect(await h.run("secrets", "set", "DBT_CLOUD_TOKEN", "--stage", "prod", "--config", CONFIG)).toBe(1);
    expect(h.err.join("\n")).toMatch(
      /secret DBT_CLOUD_TOKEN of stage prod was stored \(\/tapestry\/prod\/DBT_CLOUD_TOKEN, version 3\) but tagging it failed: AccessDeniedException/,
    );
  });

  it("without a region anywhere, exits 2 naming --region and AWS_REGION, with no AWS call", async () => {
    const h = harness({
      stdin: VALUE,
      region: async () => {
        throw new Error("Region is missing");
      },
    });
    expect(await h.run("secrets", "set", "DBT_CLOUD_TOKEN", "--stage", "prod", "--config", CONFIG)).toBe(2);
    expect(h.err.join("\n")).toMatch(/no AWS region: pass --region <region>, or set AWS_REGION/);
    expect(h.ssm.calls()).toHaveLength(0);
  });

  it("needs --stage (exit 2)", async () => {
    const h = harness({ stdin: VALUE });
    expect(await h.run("secrets", "set", "DBT_CLOUD_TOKEN", "--config", CONFIG)).toBe(2);
    expect(h.err.join("\n")).toMatch(/required option '--stage <stage>' not specified/);
    expect(h.ssm.calls()).toHaveLength(0);
  });

  it("explains in --help where the value comes from", async () => {
    const h = harness();
    expect(await h.run("secrets", "set", "--help")).toBe(0);
    const help = h.out.join("\n");
    expect(help).toMatch(/Usage: tapestry secrets set \[options\] <NAME>/);
    expect(help).toMatch(/never taken from the command line/);
    expect(help).toContain('printf %s "$TOKEN" | tapestry secrets set DBT_CLOUD_TOKEN --stage prod');
  });
});

describe("tapestry secrets list", () => {
  const at = (iso: string) => new Date(iso);

  it("lists the referenced secrets per tool, the missing one, and the extra parameter; exits 1; never reads values", async () => {
    const h = harness();
    h.ssm
      .on(GetParametersByPathCommand, { NextToken: undefined })
      .resolves({
        Parameters: [
          {
            Name: "/tapestry/prod/AIRBYTE_CLIENT_ID",
            Type: "SecureString",
            Value: "AQICAHciphertext1",
            Version: 3,
            LastModifiedDate: at("2026-02-01T10:00:00Z"),
          },
          {
            Name: "/tapestry/prod/AIRBYTE_CLIENT_SECRET",
            Type: "SecureString",
            Value: "AQICAHciphertext2",
            Version: 1,
            LastModifiedDate: at("2026-02-01T10:01:00Z"),
          },
        ],
        NextToken: "page-2",
      })
      .on(GetParametersByPathCommand, { NextToken: "page-2" })
      .resolves({
        Parameters: [
          {
            Name: "/tapestry/prod/GROUPAROO_API_KEY",
            Type: "SecureString",
            Value: "AQICAHciphertext3",
            Version: 2,
            LastModifiedDate: at("2026-02-03T08:30:00Z"),
          },
          {
            Name: "/tapestry/prod/OLD_MAILCHIMP_KEY",
            Type: "SecureString",
            Value: "AQICAHciphertext4",
            Version: 1,
            LastModifiedDate: at("2025-11-20T00:00:00Z"),
          },
        ],
      });

    const code = await h.run("secrets", "list", "--stage", "prod", "--config", CONFIG);

    expect(code).toBe(1);
    expect(h.out).toEqual([
      "Secrets of stage prod (/tapestry/prod/ in eu-west-1):",
      "  TOOL             SECRET                          STATUS        LAST CHANGED",
      "  airbyte          AIRBYTE_CLIENT_ID               set           2026-02-01T10:00:00.000Z (version 3)",
      "  airbyte          AIRBYTE_CLIENT_SECRET           set           2026-02-01T10:01:00.000Z (version 1)",
      "  airbyte          AIRBYTE_WEBHOOK_SECRET          MISSING       -",
      "  dbt-cloud        DBT_CLOUD_TOKEN                 MISSING       -",
      "  dbt-cloud        DBT_CLOUD_WEBHOOK_SECRET        MISSING       -",
      "  grouparoo        GROUPAROO_API_KEY               set           2026-02-03T08:30:00.000Z (version 2)",
      "  warehouse        SNOWFLAKE_ADMIN_PRIVATE_KEY     MISSING       -",
      "  warehouse        TAPESTRY_AIRBYTE_PRIVATE_KEY    not made yet  -",
      "  warehouse        TAPESTRY_DBT_PRIVATE_KEY        not made yet  -",
      "  warehouse        TAPESTRY_GROUPAROO_PRIVATE_KEY  not made yet  -",
      // the provisioning sections': the sources' secret settings, Grouparoo's Mailchimp key
      "  airbyte          ZOOM_CLIENT_SECRET              MISSING       -",
      "  airbyte          SALESFORCE_CLIENT_SECRET        MISSING       -",
      "  airbyte          SALESFORCE_REFRESH_TOKEN        MISSING       -",
      "  grouparoo        MAILCHIMP_API_KEY               MISSING       -",
      "  (not in config)  OLD_MAILCHIMP_KEY               set           2025-11-20T00:00:00.000Z (version 1)",
      `1 parameter under /tapestry/prod/ is not referenced by ${CONFIG}; remove with \`tapestry secrets remove <NAME> --stage prod\``,
      // the service users' keys are the bootstrap's to make: never "missing", never "not referenced"
      "3 service user keys are made by `tapestry warehouse bootstrap --stage prod`, not set by hand",
    ]);
    expect(h.err).toEqual([
      "8 secrets the config references are not set for stage prod; set them with:",
      "  tapestry secrets set AIRBYTE_WEBHOOK_SECRET --stage prod",
      "  tapestry secrets set DBT_CLOUD_TOKEN --stage prod",
      "  tapestry secrets set DBT_CLOUD_WEBHOOK_SECRET --stage prod",
      "  tapestry secrets set SNOWFLAKE_ADMIN_PRIVATE_KEY --stage prod",
      "  tapestry secrets set ZOOM_CLIENT_SECRET --stage prod",
      "  tapestry secrets set SALESFORCE_CLIENT_SECRET --stage prod",
      "  tapestry secrets set SALESFORCE_REFRESH_TOKEN --stage prod",
      "  tapestry secrets set MAILCHIMP_API_KEY --stage prod",
    ]);

    const calls = h.ssm.calls();
    expect(calls).toHaveLength(2);
    expect(h.ssm.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input)).toEqual([
      {
        Path: "/tapestry/prod/",
        Recursive: false,
        WithDecryption: false,
        MaxResults: 10,
        NextToken: undefined,
      },
      {
        Path: "/tapestry/prod/",
        Recursive: false,
        WithDecryption: false,
        MaxResults: 10,
        NextToken: "page-2",
      },
    ]);
    expect(h.ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
    expect(h.ssm.commandCalls(GetParametersCommand)).toHaveLength(0);
    for (const call of calls) {
      expect((call.args[0].input as { WithDecryption?: boolean }).WithDecryption).not.toBe(true);
    }
    expect(h.everything()).not.toMatch(/AQICAH/);
  });

  it("exits 0 when every referenced secret is set, and flags a parameter that is not encrypted", async () => {
    const h = harness();
    const names = [
      "AIRBYTE_CLIENT_ID",
      "AIRBYTE_CLIENT_SECRET",
      "AIRBYTE_WEBHOOK_SECRET",
      "DBT_CLOUD_TOKEN",
      "DBT_CLOUD_WEBHOOK_SECRET",
      "GROUPAROO_API_KEY",
      "SNOWFLAKE_ADMIN_PRIVATE_KEY",
      "TAPESTRY_AIRBYTE_PRIVATE_KEY",
      "TAPESTRY_DBT_PRIVATE_KEY",
      "TAPESTRY_GROUPAROO_PRIVATE_KEY",
      "ZOOM_CLIENT_SECRET",
      "SALESFORCE_CLIENT_SECRET",
      "SALESFORCE_REFRESH_TOKEN",
      "MAILCHIMP_API_KEY",
    ];
    h.ssm.on(GetParametersByPathCommand).resolves({
      Parameters: names.map((name) => ({
        Name: `/tapestry/staging/${name}`,
        Type: name === "DBT_CLOUD_TOKEN" ? "String" : "SecureString",
        Version: 1,
        LastModifiedDate: at("2026-01-01T00:00:00Z"),
      })),
    });

    expect(await h.run("secrets", "list", "--stage", "staging", "--config", CONFIG)).toBe(0);
    expect(h.out.at(-1)).toBe("All 14 secrets the config references are set.");
    expect(h.out.join("\n")).not.toContain("MISSING");
    expect(h.err).toEqual([
      "warning: /tapestry/staging/DBT_CLOUD_TOKEN is a String parameter, not encrypted: set it again with `tapestry secrets set DBT_CLOUD_TOKEN --stage staging`",
    ]);
  });

  it("--json: one document on stdout (its documented shape), the missing ones on stderr, exit 1, no value", async () => {
    const h = harness();
    h.ssm.on(GetParametersByPathCommand).resolves({
      Parameters: [
        {
          Name: "/tapestry/prod/AIRBYTE_CLIENT_ID",
          Type: "SecureString",
          Value: "AQICAHciphertext1",
          Version: 3,
          LastModifiedDate: at("2026-02-01T10:00:00Z"),
        },
        { Name: "/tapestry/prod/OLD_MAILCHIMP_KEY", Type: "String", Value: "AQICAHplain", Version: 1 },
      ],
    });

    expect(await h.run("secrets", "list", "--stage", "prod", "--config", CONFIG, "--json")).toBe(1);
    const entry = z.strictObject({
      name: z.string(),
      tools: z.array(z.string()),
      status: z.enum(["set", "missing", "not-made-yet", "not-referenced"]),
      lastModified: z.string().optional(),
      version: z.number().optional(),
      type: z.string().optional(),
    });
    const report = z
      .strictObject({ stage: z.string(), region: z.string(), path: z.string(), secrets: z.array(entry) })
      .parse(JSON.parse(h.out.join("\n")));
    expect(report).toMatchObject({ stage: "prod", region: "eu-west-1", path: "/tapestry/prod/" });
    expect(report.secrets.map((s) => [s.name, s.tools.join(","), s.status])).toEqual([
      ["AIRBYTE_CLIENT_ID", "airbyte", "set"],
      ["AIRBYTE_CLIENT_SECRET", "airbyte", "missing"],
      ["AIRBYTE_WEBHOOK_SECRET", "airbyte", "missing"],
      ["DBT_CLOUD_TOKEN", "dbt-cloud", "missing"],
      ["DBT_CLOUD_WEBHOOK_SECRET", "dbt-cloud", "missing"],
      ["GROUPAROO_API_KEY", "grouparoo", "missing"],
      ["SNOWFLAKE_ADMIN_PRIVATE_KEY", "warehouse", "missing"],
      ["TAPESTRY_AIRBYTE_PRIVATE_KEY", "warehouse", "not-made-yet"],
      ["TAPESTRY_DBT_PRIVATE_KEY", "warehouse", "not-made-yet"],
      ["TAPESTRY_GROUPAROO_PRIVATE_KEY", "warehouse", "not-made-yet"],
      ["ZOOM_CLIENT_SECRET", "airbyte", "missing"],
      ["SALESFORCE_CLIENT_SECRET", "airbyte", "missing"],
      ["SALESFORCE_REFRESH_TOKEN", "airbyte", "missing"],
      ["MAILCHIMP_API_KEY", "grouparoo", "missing"],
      ["OLD_MAILCHIMP_KEY", "", "not-referenced"],
    ]);
    expect(report.secrets[0]).toEqual({
      name: "AIRBYTE_CLIENT_ID",
      tools: ["airbyte"],
      status: "set",
      lastModified: "2026-02-01T10:00:00.000Z",
      version: 3,
      type: "SecureString",
    });
    expect(h.err[0]).toMatch(/OLD_MAILCHIMP_KEY is a String parameter, not encrypted/);
    expect(h.err).toContain("  tapestry secrets set DBT_CLOUD_TOKEN --stage prod");
    expect(h.everything()).not.toMatch(/AQICAH/);
  });

  it("reports an AWS failure with exit 1", async () => {
    const h = harness();
    h.ssm.on(GetParametersByPathCommand).rejects(
      Object.assign(new Error("The security token included in the request is invalid."), {
        name: "UnrecognizedClientException",
      }),
    );
    expect(await h.run("secrets", "list", "--stage", "prod", "--config", CONFIG)).toBe(1);
    expect(h.err.join("\n")).toMatch(
      /could not list the secrets of stage prod in SSM \(\/tapestry\/prod\/\): UnrecognizedClientException/,
    );
  });

  it("exits 2 on a config that is not there, before any AWS call", async () => {
    const h = harness();
    expect(
      await h.run("secrets", "list", "--stage", "prod", "--config", "/nonexistent/tapestry.config.ts"),
    ).toBe(2);
    expect(h.err.join("\n")).toMatch(/no config at \/nonexistent\/tapestry\.config\.ts/);
    expect(h.createClient).not.toHaveBeenCalled();
  });
});

describe("tapestry secrets remove", () => {
  it("deletes the parameter and warns that the config still references it", async () => {
    const h = harness();
    h.ssm.on(DeleteParameterCommand).resolves({});

    expect(await h.run("secrets", "remove", "DBT_CLOUD_TOKEN", "--stage", "prod", "--config", CONFIG)).toBe(
      0,
    );
    expect(h.ssm.commandCalls(DeleteParameterCommand)[0]?.args[0].input).toEqual({
      Name: "/tapestry/prod/DBT_CLOUD_TOKEN",
    });
    expect(h.out).toEqual([
      "removed DBT_CLOUD_TOKEN of stage prod: /tapestry/prod/DBT_CLOUD_TOKEN in eu-west-1",
    ]);
    expect(h.err.join("\n")).toMatch(
      /warning: .* still references DBT_CLOUD_TOKEN \(tools\["dbt-cloud"\]\.tokenSecret\): runs on stage prod fail with SecretNotSetError/,
    );
  });

  it("removes an unreferenced secret without a warning", async () => {
    const h = harness();
    h.ssm.on(DeleteParameterCommand).resolves({});
    expect(await h.run("secrets", "remove", "OLD_MAILCHIMP_KEY", "--stage", "prod", "--config", CONFIG)).toBe(
      0,
    );
    expect(h.err).toEqual([]);
  });

  it("exits 1 with SecretNotSetError's message when there is nothing to remove", async () => {
    const h = harness();
    h.ssm.on(DeleteParameterCommand).rejects(new ParameterNotFound({ message: "", $metadata: {} }));
    expect(await h.run("secrets", "remove", "DBT_CLOUD_TOKEN", "--stage", "prod", "--config", CONFIG)).toBe(
      1,
    );
    expect(h.err).toEqual([
      "secret DBT_CLOUD_TOKEN is not set for stage prod: run `tapestry secrets set DBT_CLOUD_TOKEN --stage prod`",
    ]);
  });

  it("refuses a bad name with exit 2 and no AWS call", async () => {
    const h = harness();
    expect(await h.run("secrets", "remove", "../x", "--stage", "prod", "--config", CONFIG)).toBe(2);
    expect(h.ssm.calls()).toHaveLength(0);
  });
});

describe("tapestry secrets", () => {
  it("exits 2 on an unknown subcommand", async () => {
    const h = harness();
    expect(await h.run("secrets", "get", "DBT_CLOUD_TOKEN", "--stage", "prod")).toBe(2);
    expect(h.ssm.calls()).toHaveLength(0);
  });
});
