import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ProvisionRig, provisionRigStarter } from "./provision-harness";

/**
 * Canary: every secret a provisioning run reads or makes (the Airbyte application's, the sources'
 * client secrets and refresh token, the admin's key, the service users' generated private keys)
 * reaches the tool that needs it and nothing else: no event, no log line, no run record (what
 * GET /provisioning answers), no row of the store's file, no Grouparoo file. Also when the run
 * fails on an answer that echoes a secret back.
 */

const start = provisionRigStarter();

function everythingKept(rig: ProvisionRig): { readonly where: string; readonly text: string }[] {
  const files = (
    existsSync(rig.grouparooDir)
      ? readdirSync(rig.grouparooDir, { recursive: true, withFileTypes: true })
      : []
  )
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
  return [
    ...rig.events.map((event) => ({ where: `event ${event["detail-type"]}`, text: JSON.stringify(event) })),
    ...rig.logLines.map((line) => ({ where: "log", text: line })),
    ...files.map((file) => ({ where: file, text: readFileSync(file, "utf8") })),
    // the SQLite file itself (its -wal beside it, if any): every row the store wrote
    ...[rig.storePath, `${rig.storePath}-wal`].flatMap((path) => {
      try {
        return [{ where: path, text: readFileSync(path).toString("latin1") }];
      } catch {
        return [];
      }
    }),
  ];
}

/** The distinctive middle of each secret: a PEM's base64 body line, a token itself. */
function canaries(rig: ProvisionRig): string[] {
  return rig.secretValues().map((value) => {
    const lines = value.split("\n").filter((line) => line.length > 0 && !line.startsWith("-----"));
    return (lines[1] ?? lines[0] ?? value).slice(0, 40);
  });
}

describe("no secret leaves for anywhere but its tool", () => {
  it("a successful run: the events, logs, run record, store and Grouparoo's files hold none", async () => {
    const rig = await start();
    const run = await rig.provision();
    expect(run.status).toBe("SUCCEEDED");
    const kept = [
      ...everythingKept(rig),
      { where: "GET /provisioning", text: JSON.stringify(await rig.store.last()) },
    ];
    const secrets = canaries(rig);
    // the generated keys are there to look for: 3 service users' keys, beside the 6 configured secrets
    expect(secrets.length).toBe(9);
    for (const secret of secrets) {
      expect(
        kept.filter((k) => k.text.includes(secret)).map((k) => k.where),
        secret.slice(0, 6),
      ).toEqual([]);
    }
    // while Airbyte did get them: the source's secret and the loader's key
    const sources = JSON.stringify([...rig.airbyte.configuration.sources.values()]);
    expect(sources).toContain("zoom-client-secret-0123456789");
  });

  it("a run that fails on an answer echoing the source's secret names neither in ProvisioningFailed nor the record", async () => {
    const rig = await start({
      airbyte: {
        rules: [
          {
            on: "createSource",
            from: 1,
            times: 99,
            respond: {
              status: 400,
              body: {
                message: "invalid client_secret zoom-client-secret-0123456789 for account rAiNsHiElDz00m",
              },
            },
          },
        ],
      },
    });
    const run = await rig.provision();
    expect(run.status).toBe("FAILED");
    expect(run.events.at(-1)?.["detail-type"]).toBe("ProvisioningFailed");
    const kept = [
      ...everythingKept(rig),
      { where: "GET /provisioning", text: JSON.stringify(await rig.store.last()) },
    ];
    for (const secret of canaries(rig)) {
      expect(
        kept.filter((k) => k.text.includes(secret)).map((k) => k.where),
        secret.slice(0, 6),
      ).toEqual([]);
    }
  });
});
