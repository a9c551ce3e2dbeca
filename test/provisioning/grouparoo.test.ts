import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import {
  type GrouparooConfigSink,
  grouparooConfigBundle,
  ProvisioningStoreUnavailableError,
  writeGrouparooConfig,
} from "@tapestry/core/provisioning";
import { afterEach, describe, expect, it } from "vitest";
// the module itself, not the barrel: the barrel also loads the other AWS adapters
import { s3GrouparooSink } from "../../packages/core/src/adapters/aws/s3-grouparoo-sink";
import { directoryGrouparooSink } from "../../packages/local/src/control-plane/grouparoo-sink";
import kickstart from "../../tapestry.config";

/**
 * Grouparoo's config files, generated from the config's grouparoo section and written where
 * Grouparoo reads them (a folder embedded, S3 on AWS): equal files are left alone, changed ones
 * rewritten, dropped ones removed; no file holds a secret.
 */

const config = (change?: (c: TapestryConfig) => void): TapestryConfig => {
  const parsed = parseConfig(structuredClone(kickstart));
  change?.(parsed);
  return parsed;
};
const fileOf = (c: TapestryConfig, path: string) => {
  const file = grouparooConfigBundle(c).files.find((f) => f.path === path);
  if (!file) throw new Error(`no ${path} in the bundle`);
  return JSON.parse(file.content) as Record<string, unknown>;
};

describe("Grouparoo's config files for the kickstart", () => {
  it("one object per file, in the folders grouparoo apply reads", () => {
    expect(
      grouparooConfigBundle(config())
        .files.map((f) => f.path)
        .sort(),
    ).toEqual(
      [
        "config/apps/mailchimp_audience_app.json",
        "config/apps/tapestry_warehouse.json",
        "config/destinations/mailchimp_audience.json",
        "config/models/people.json",
        "config/properties/company.json",
        "config/properties/email.json",
        "config/properties/first_name.json",
        "config/properties/last_name.json",
        "config/schedules/sch_mailchimp_audience.json",
        "config/sources/email_model.json",
        "environment.json",
      ].sort(),
    );
  });

  it("reads the warehouse as the reporter user with its key pair: app snowflake-keypair, no role option", () => {
    const app = fileOf(config(), "config/apps/tapestry_warehouse.json");
    expect(app).toMatchObject({ class: "App", type: "snowflake-keypair" });
    expect(app.options).toEqual({
      account: expect.any(String),
      username: "TAPESTRY_GROUPAROO",
      private_key: "TAPESTRY_GROUPAROO_PRIVATE_KEY",
      warehouse: expect.any(String),
      database: expect.any(String),
      schema: expect.any(String),
    });
  });

  it("takes the dbt model's table as the people model's source, keyed by its unique property", () => {
    expect(fileOf(config(), "config/sources/email_model.json")).toMatchObject({
      class: "Source",
      type: "snowflake-import-table",
      modelId: "people",
      options: { table: "EMAIL_MODEL" },
      mapping: { EMAIL: "email" },
    });
    expect(fileOf(config(), "config/destinations/mailchimp_audience.json")).toMatchObject({
      type: "mailchimp-export-contacts",
      options: { listId: "a1b2c3d4e5" },
      mapping: { email_address: "email", FNAME: "first_name", LNAME: "last_name" },
    });
    // the pipeline's grouparoo step runs the schedule: it does not recur by itself
    expect(fileOf(config(), "config/schedules/sch_mailchimp_audience.json")).toMatchObject({
      recurring: false,
      sourceId: "email_model",
    });
  });

  it("holds secrets' NAMES only, each mapped to the environment variable Grouparoo reads its value from", () => {
    const bundle = grouparooConfigBundle(config());
    expect(fileOf(config(), "environment.json").variables).toEqual({
      GROUPAROO_OPTION__APP__TAPESTRY_GROUPAROO_PRIVATE_KEY: { secret: "TAPESTRY_GROUPAROO_PRIVATE_KEY" },
      GROUPAROO_OPTION__APP__MAILCHIMP_API_KEY: { secret: "MAILCHIMP_API_KEY" },
    });
    expect(bundle.environment.map((e) => e.secret).sort()).toEqual([
      "MAILCHIMP_API_KEY",
      "TAPESTRY_GROUPAROO_PRIVATE_KEY",
    ]);
    for (const file of bundle.files) expect(file.content).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  });
});

/** An S3 client over a Map of objects, as S3 answers the four calls the sink makes. */
function inMemoryS3(options: { failWith?: Error } = {}) {
  const objects = new Map<string, string>();
  const calls: string[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      calls.push(name);
      if (options.failWith) throw options.failWith;
      const key = String(command.input.Key);
      switch (name) {
        case "ListObjectsV2Command": {
          const prefix = String(command.input.Prefix);
          const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
          // one key per page, so the sink must follow the continuation token
          const start = Number(command.input.ContinuationToken ?? 0);
          return {
            Contents: keys.slice(start, start + 1).map((Key) => ({ Key })),
            IsTruncated: start + 1 < keys.length,
            NextContinuationToken: String(start + 1),
          };
        }
        case "GetObjectCommand": {
          const body = objects.get(key);
          if (body === undefined)
            throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });
          return { Body: { transformToString: async () => body } };
        }
        case "PutObjectCommand":
          objects.set(key, String(command.input.Body));
          return {};
        case "DeleteObjectCommand":
          objects.delete(key);
          return {};
        default:
          throw new Error(`unexpected ${name}`);
      }
    },
  };
  return { client: client as never, objects, calls };
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const SINKS: readonly [string, () => { sink: GrouparooConfigSink; writes: () => number }][] = [
  [
    "a folder (embedded)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "tapestry-grouparoo-"));
      dirs.push(dir);
      const sink = directoryGrouparooSink(join(dir, "grouparoo"));
      let writes = 0;
      return {
        sink: {
          ...sink,
          write: async (path, content) => {
            writes += 1;
            await sink.write(path, content);
          },
          remove: async (path) => {
            writes += 1;
            await sink.remove(path);
          },
        },
        writes: () => writes,
      };
    },
  ],
  [
    "S3 (AWS)",
    () => {
      const s3 = inMemoryS3();
      return {
        sink: s3GrouparooSink({ client: s3.client, bucket: "tapestry-config", prefix: "grouparoo/" }),
        writes: () => s3.calls.filter((c) => c === "PutObjectCommand" || c === "DeleteObjectCommand").length,
      };
    },
  ],
];

describe.each(SINKS)("writing the files to %s", (_, open) => {
  it("creates every file once; a second run writes nothing", async () => {
    const { sink, writes } = open();
    const bundle = grouparooConfigBundle(config());
    const first = await writeGrouparooConfig(bundle, sink);
    expect(first.map((f) => f.action)).toEqual(bundle.files.map(() => "created"));
    expect(await sink.list()).toEqual(bundle.files.map((f) => f.path).sort());
    const before = writes();
    const second = await writeGrouparooConfig(bundle, sink);
    expect(second.map((f) => f.action)).toEqual(bundle.files.map(() => "unchanged"));
    expect(writes()).toBe(before);
  });

  it("rewrites only the file a changed setting is in, and removes the file of a dropped property", async () => {
    const { sink } = open();
    await writeGrouparooConfig(grouparooConfigBundle(config()), sink);
    const changed = config((c) => {
      if (!c.grouparoo) throw new Error("the kickstart has a grouparoo section");
      c.grouparoo.destination.listId = "f9e8d7c6b5";
      c.grouparoo.source.properties = c.grouparoo.source.properties.filter((p) => p.id !== "company");
    });
    const written = await writeGrouparooConfig(grouparooConfigBundle(changed), sink);
    expect(written.filter((f) => f.action !== "unchanged")).toEqual([
      { path: "config/destinations/mailchimp_audience.json", action: "updated" },
      { path: "config/properties/company.json", action: "deleted" },
    ]);
    expect(
      JSON.parse((await sink.read("config/destinations/mailchimp_audience.json")) ?? "{}"),
    ).toMatchObject({
      options: { listId: "f9e8d7c6b5" },
    });
  });
});

describe("the S3 sink", () => {
  it("keeps every file under its prefix, and names S3's 'not now' ProvisioningStoreUnavailableError", async () => {
    const s3 = inMemoryS3();
    await writeGrouparooConfig(
      grouparooConfigBundle(config()),
      s3GrouparooSink({ client: s3.client, bucket: "b", prefix: "grouparoo/" }),
    );
    expect(
      [...s3.objects.keys()].every(
        (key) => key.startsWith("grouparoo/config/") || key === "grouparoo/environment.json",
      ),
    ).toBe(true);

    const slow = Object.assign(new Error("Please reduce your request rate."), {
      name: "SlowDown",
      $metadata: { httpStatusCode: 503 },
    });
    const failing = s3GrouparooSink({
      client: inMemoryS3({ failWith: slow }).client,
      bucket: "b",
      prefix: "grouparoo/",
    });
    await expect(failing.list()).rejects.toBeInstanceOf(ProvisioningStoreUnavailableError);
  });
});
