/**
 * The vendored specs in test/fixtures/specs must be exact copies of ../shared/specs (see
 * test/fixtures/specs/README.md). Where ../shared is absent (a bare clone, CI), the copies are
 * still checked for being usable: non-empty, and each YAML file an OpenAPI 3.x document with paths.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const VENDORED = new URL("../fixtures/specs/", import.meta.url);
const SHARED = new URL("../../../shared/specs/", import.meta.url);

const FILES = [
  "airbyte-public-api-jobs.yaml",
  "airbyte-public-api-applications.yaml",
  "airbyte-public-api-connections.yaml",
  "airbyte-public-api-sources.yaml",
  "airbyte-public-api-destinations.yaml",
  "airbyte-public-api-workspaces.yaml",
  "dbt-cloud-openapi-v2.yaml",
  "dbt-cloud-openapi-v3.yaml",
  "grouparoo-api.md",
] as const;

const sharedPresent = existsSync(fileURLToPath(SHARED));

describe("vendored API specs", () => {
  it.each(FILES)("%s is non-empty and parses", (file) => {
    const text = readFileSync(new URL(file, VENDORED), "utf8");
    expect(text.trim().length).toBeGreaterThan(1000);
    if (file.endsWith(".yaml")) {
      const doc: unknown = parseYaml(text);
      expect(doc).toMatchObject({ openapi: expect.stringMatching(/^3\.[01]\.\d+$/) });
      const paths = (doc as { paths?: unknown }).paths;
      expect(typeof paths === "object" && paths !== null && Object.keys(paths).length > 0).toBe(true);
    } else {
      expect(text).toContain("/api/v1/run/:id");
    }
  });

  it.each(FILES)(
    `%s is byte-equal to ../shared/specs (${sharedPresent ? "present" : "absent: only the vendored copy is checked"})`,
    (file) => {
      const vendored = readFileSync(new URL(file, VENDORED));
      if (!sharedPresent) {
        // Nothing to compare with: the copy must at least exist and be non-empty (checked above too).
        expect(vendored.length).toBeGreaterThan(0);
        return;
      }
      const original = readFileSync(new URL(file, SHARED));
      expect(
        vendored.equals(original),
        `test/fixtures/specs/${file} differs from ../shared/specs/${file}: copy it again`,
      ).toBe(true);
    },
  );
});
