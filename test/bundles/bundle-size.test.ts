/**
 * Every function the app deploys stays at most FUNCTION_BUNDLE_LIMIT_BYTES minified. Each entry
 * of functions/aws is bundled in memory exactly as SST bundles it for deployment (stacks/bundling.ts:
 * the same esbuild options and SST's own esbuild), with the kickstart config inlined. Bytes are
 * deterministic, so this is a size check, not a timing.
 */
import { join } from "node:path";
import { parseConfig } from "@tapestry/core/config";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bundleFunction,
  deployedEntries,
  FUNCTION_BUNDLE_LIMIT_BYTES,
  type FunctionBundle,
  zodImportedAsNamespace,
} from "../../stacks/bundling";
import kickstart from "../../tapestry.config";

const ROOT = join(import.meta.dirname, "..", "..");
const CONFIG = parseConfig(structuredClone(kickstart), "tapestry.config.ts");
/**
 * The one exception, measured (ADR 0020): the warehouse bootstrap runs Snowflake's own driver
 * (snowflake-sdk, through snowflake-promise, as issue 9 prescribes), 3.67 MB minified with its
 * moment-timezone and the Azure and GCS clients of its file staging. It runs only when a stage
 * is provisioned, never on a pipeline's path; the limit keeps it from growing unseen.
 */
const WAREHOUSE_BOOTSTRAP_LIMIT_BYTES = 3_800_000;
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;

/** The entries over the limit, each with its size and its three heaviest packages (what to look at). */
function overLimit(bundles: readonly FunctionBundle[], limit: number): string[] {
  return bundles
    .filter((bundle) => bundle.code.length > limit)
    .map((bundle) => {
      const byPackage = new Map<string, number>();
      for (const [path, { bytesInOutput }] of Object.entries(bundle.inputs)) {
        const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path;
        byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
      }
      const heaviest = [...byPackage]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([name, bytes]) => `${name} ${kb(bytes)}`);
      return `${bundle.entry}: ${kb(bundle.code.length)} > ${kb(limit)} (${heaviest.join(", ")})`;
    });
}

describe("the deployed functions' bundles", () => {
  let bundles: FunctionBundle[];
  beforeAll(async () => {
    bundles = await Promise.all(
      deployedEntries(ROOT).map((entry) => bundleFunction(ROOT, entry, { config: CONFIG })),
    );
  }, 120_000);

  it("finds every entry of functions/aws (each one a Lambda)", () => {
    expect(bundles.map((b) => b.entry)).toEqual(
      expect.arrayContaining([
        "cancel-step",
        "poll-step",
        "project-event",
        "publish-event",
        "reconcile-run",
        "run-lock",
        "start-scheduled-run",
        "start-step",
        "status-api",
        "await-webhook",
        "webhook-receiver",
        "record-metrics",
        "evaluate-alerts",
        "check-freshness",
        "notify-slack",
        "provisioning-run",
        "bootstrap-warehouse",
        "ensure-airbyte",
        "write-grouparoo-config",
        "tool-stack",
        "tool-health",
        "deprovisioning-run",
      ]),
    );
  });

  it(`each is at most ${kb(FUNCTION_BUNDLE_LIMIT_BYTES)} minified (the warehouse bootstrap at most ${kb(WAREHOUSE_BOOTSTRAP_LIMIT_BYTES)})`, () => {
    const [bootstrap, others] = [
      bundles.filter((b) => b.entry === "bootstrap-warehouse"),
      bundles.filter((b) => b.entry !== "bootstrap-warehouse"),
    ];
    expect(overLimit(others, FUNCTION_BUNDLE_LIMIT_BYTES)).toEqual([]);
    expect(bootstrap).toHaveLength(1);
    expect(overLimit(bootstrap, WAREHOUSE_BOOTSTRAP_LIMIT_BYTES)).toEqual([]);
  });

  it("none bundles zod's locales other than English", () => {
    const locales = bundles.flatMap((bundle) =>
      Object.keys(bundle.inputs)
        .filter((path) => /zod\/v4\/locales\/(?!en\.js$)/.test(path))
        .map((path) => `${bundle.entry}: ${path}`),
    );
    expect(locales).toEqual([]);
  });

  it("none bundles zod's JSON Schema reader: the connectors' schemas were checked at synthesis", () => {
    const readers = bundles.flatMap((bundle) =>
      Object.keys(bundle.inputs)
        .filter((path) => /zod\/v4\/classic\/from-json-schema/.test(path))
        .map((path) => `${bundle.entry}: ${path}`),
    );
    expect(readers).toEqual([]);
  });

  it("none bundles the AWS SDK, and each imports only the clients its code path uses", () => {
    const sdk = (...names: string[]) => names.map((name) => `@aws-sdk/${name}`);
    const expected: Record<string, string[]> = {
      "run-lock": sdk("client-dynamodb", "client-eventbridge", "lib-dynamodb"),
      "publish-event": sdk("client-eventbridge"),
      "start-step": sdk("client-eventbridge", "client-ssm"),
      "poll-step": sdk("client-eventbridge", "client-ssm"),
      "cancel-step": sdk("client-eventbridge", "client-ssm"),
      "start-scheduled-run": sdk("client-sfn"),
      "project-event": sdk("client-dynamodb", "lib-dynamodb"),
      "status-api": sdk("client-dynamodb", "client-eventbridge", "client-sfn", "lib-dynamodb"),
      "reconcile-run": sdk(
        "client-dynamodb",
        "client-eventbridge",
        "client-sfn",
        "client-ssm",
        "lib-dynamodb",
      ),
      "await-webhook": sdk(
        "client-dynamodb",
        "client-eventbridge",
        "client-sfn",
        "client-ssm",
        "lib-dynamodb",
      ),
      "webhook-receiver": sdk(
        "client-dynamodb",
        "client-eventbridge",
        "client-sfn",
        "client-ssm",
        "lib-dynamodb",
      ),
      "record-metrics": [],
      "evaluate-alerts": sdk("client-dynamodb", "client-eventbridge", "lib-dynamodb"),
      "check-freshness": sdk("client-dynamodb", "client-eventbridge", "lib-dynamodb"),
      // Powertools Idempotency's DynamoDB persistence layer (marshalling from util-dynamodb); SSM for Slack's URL
      "notify-slack": sdk("client-dynamodb", "client-ssm", "lib-dynamodb", "util-dynamodb"),
      "provisioning-run": sdk("client-dynamodb", "client-eventbridge", "lib-dynamodb"),
      "ensure-airbyte": sdk("client-dynamodb", "client-eventbridge", "client-ssm", "lib-dynamodb"),
      "write-grouparoo-config": sdk("client-dynamodb", "client-eventbridge", "client-s3", "lib-dynamodb"),
      "tool-stack": sdk("client-cloudformation", "client-dynamodb", "client-eventbridge", "lib-dynamodb"),
      // one health GET and two secret reads: no store, no bus
      "tool-health": sdk("client-ssm"),
      // the lock and records, the bus, and the recorded ids (listed, deleted by purge)
      "deprovisioning-run": sdk("client-dynamodb", "client-eventbridge", "client-ssm", "lib-dynamodb"),
      // the provisioning run's record and the bus; the rest is snowflake-sdk's own (its S3 file
      // staging, the credential chain and instance metadata it reads for that)
      "bootstrap-warehouse": sdk(
        "client-dynamodb",
        "client-eventbridge",
        "client-s3",
        "client-ssm",
        "client-sts",
        "credential-provider-node",
        "ec2-metadata-service",
        "lib-dynamodb",
      ),
    };
    for (const bundle of bundles) {
      expect(Object.keys(bundle.inputs).filter((path) => path.includes("node_modules/@aws-sdk/"))).toEqual(
        [],
      );
      // Node's built-ins are external too (platform node): only the SDK's packages are clients
      const clients = bundle.externalImports.filter((name) => name.startsWith("@aws-sdk/"));
      expect(clients, bundle.entry).toEqual(expected[bundle.entry]);
    }
  });
});

describe("the bundle-size check", () => {
  it("fails, naming the entry and its heaviest package, when a function grows past the limit", async () => {
    const heavy = await bundleFunction(ROOT, "heavy-entry", {
      file: join(ROOT, "test", "bundles", "fixtures", "heavy-entry.ts"),
    });
    expect(heavy.code.length).toBeGreaterThan(FUNCTION_BUNDLE_LIMIT_BYTES);
    expect(overLimit([heavy], FUNCTION_BUNDLE_LIMIT_BYTES)).toEqual([
      expect.stringMatching(/^heavy-entry: \d+\.\d KB > 352\.0 KB \(zod \d+\.\d KB/),
    ]);
  }, 60_000);

  it("reads a third-party module's `import { z }` from zod as the namespace import, keeping its other names", () => {
    expect(zodImportedAsNamespace(`import { z } from 'zod';\nconst a = z.string();`)).toBe(
      `import * as z from 'zod';\nconst a = z.string();`,
    );
    expect(zodImportedAsNamespace(`import { ZodError, z } from "zod";`)).toBe(
      `import * as z from "zod"; import { ZodError } from "zod";`,
    );
    expect(zodImportedAsNamespace(`import { ZodError } from 'zod';`)).toBe(`import { ZodError } from 'zod';`);
    expect(zodImportedAsNamespace(`import { z } from 'zod-to-json';`)).toBe(
      `import { z } from 'zod-to-json';`,
    );
  });
});
