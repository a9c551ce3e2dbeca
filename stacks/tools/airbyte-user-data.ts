import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MultipartBody, MultipartUserData, type UserData } from "aws-cdk-lib/aws-ec2";

/** The boot script, relative to the project's root (the synth runs there, as the ASL files are read). */
export const AIRBYTE_USER_DATA_SCRIPT = "stacks/tools/airbyte-user-data.sh";

/** The values the stack fills into the script's `@NAME@` placeholders (CDK tokens allowed). */
export interface AirbyteUserDataValues {
  readonly ABCTL_VERSION: string;
  readonly CHART_VERSION: string;
  readonly AIRBYTE_URL: string;
  readonly LOW_RESOURCE_MODE: "true" | "false";
  readonly INSECURE_COOKIES: "true" | "false";
  readonly BUCKET: string;
  readonly REGION: string;
  readonly CLIENT_ID_PARAMETER: string;
  readonly CLIENT_SECRET_PARAMETER: string;
  readonly LOG_GROUP: string;
  /** the ToolHost dimension's value (names.ts TOOL_HOST_DIMENSION): the stack's name */
  readonly TOOL_HOST: string;
}

/** The script with every placeholder filled; fails when the script and the values disagree. */
export function renderAirbyteScript(values: AirbyteUserDataValues, root = process.cwd()): string {
  const template = readFileSync(join(root, AIRBYTE_USER_DATA_SCRIPT), "utf8");
  const placeholders = new Set([...template.matchAll(/@([A-Z_]+)@/g)].map((m) => m[1] as string));
  const given = new Set(Object.keys(values));
  const missing = [...placeholders].filter((name) => !given.has(name));
  const unused = [...given].filter((name) => !placeholders.has(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `${AIRBYTE_USER_DATA_SCRIPT} and renderAirbyteScript disagree: placeholders without a value [${missing.join(", ")}], values without a placeholder [${unused.join(", ")}]`,
    );
  }
  return template.replace(/@([A-Z_]+)@/g, (_, name: keyof AirbyteUserDataValues) => values[name]);
}

/**
 * cloud-init runs user-data scripts once per instance by default; this makes it run the script at
 * every boot, so a stop/start with changed user data (CloudFormation's in-place update of an
 * instance's UserData) applies the new versions, and a reboot re-checks the install.
 */
const EVERY_BOOT_CLOUD_CONFIG = ["#cloud-config", "cloud_final_modules:", "  - [scripts-user, always]"].join(
  "\n",
);

/** The instance's user data: a cloud-config part (run at every boot) and the filled script. */
export function airbyteUserData(values: AirbyteUserDataValues, root?: string): UserData {
  const userData = new MultipartUserData();
  userData.addPart(
    MultipartBody.fromRawBody({
      contentType: 'text/cloud-config; charset="utf-8"',
      body: EVERY_BOOT_CLOUD_CONFIG,
    }),
  );
  userData.addPart(
    MultipartBody.fromRawBody({
      contentType: 'text/x-shellscript; charset="utf-8"',
      body: renderAirbyteScript(values, root),
    }),
  );
  return userData;
}
