import * as z from "zod";
import { KICKSTART_DEFAULTS, type KickstartSettings } from "./scaffold/templates";

/**
 * The plain settings `tapestry kickstart` asks for, each with its flag, its question, and whether
 * Rain Shield's value is a default a user may keep (a URL, a workspace name) or theirs to give
 * (their Zoom app, their Salesforce app, their audience, their Snowflake account).
 */
export interface SettingQuestion {
  /** dotted path in KickstartSettings, also the key path in the --values file */
  readonly key: string;
  /** the flag, e.g. `--zoom-account-id` */
  readonly flag: string;
  readonly message: string;
  readonly kind: "text" | "integer" | "boolean" | "choice";
  readonly choices?: readonly string[];
  /** the user must give it in --non-interactive (Rain Shield's value is not theirs) */
  readonly theirs: boolean;
  readonly validate?: (value: string) => true | string;
}

const url = (value: string) => {
  try {
    const parsed = new URL(value);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? true : "expected an http(s) URL";
  } catch {
    return "expected a URL, e.g. https://cloud.getdbt.com";
  }
};
const nonEmpty = (value: string) => (value.trim() ? true : "it cannot be empty");
const isoDate = (value: string) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(value)
    ? true
    : "expected a UTC time, e.g. 2021-01-01T00:00:00Z";

export const SETTING_QUESTIONS: readonly SettingQuestion[] = [
  {
    key: "zoom.accountId",
    flag: "--zoom-account-id",
    message: "Zoom Server-to-Server OAuth app: account ID",
    kind: "text",
    theirs: true,
    validate: nonEmpty,
  },
  {
    key: "zoom.clientId",
    flag: "--zoom-client-id",
    message: "Zoom Server-to-Server OAuth app: client ID",
    kind: "text",
    theirs: true,
    validate: nonEmpty,
  },
  {
    key: "salesforce.clientId",
    flag: "--salesforce-client-id",
    message: "Salesforce connected app: consumer key (client ID)",
    kind: "text",
    theirs: true,
    validate: nonEmpty,
  },
  {
    key: "salesforce.startDate",
    flag: "--salesforce-start-date",
    message: "Salesforce: sync records changed since (UTC)",
    kind: "text",
    theirs: false,
    validate: isoDate,
  },
  {
    key: "salesforce.isSandbox",
    flag: "--salesforce-sandbox",
    message: "Salesforce: is it a sandbox org?",
    kind: "boolean",
    theirs: false,
  },
  {
    key: "mailchimp.listId",
    flag: "--mailchimp-list-id",
    message: "Mailchimp: the audience (list) ID to sync to",
    kind: "text",
    theirs: true,
    validate: nonEmpty,
  },
  {
    key: "snowflake.account",
    flag: "--snowflake-account",
    message: "Snowflake: account identifier (orgname-accountname)",
    kind: "text",
    theirs: true,
    validate: nonEmpty,
  },
  {
    key: "snowflake.adminUser",
    flag: "--snowflake-admin-user",
    message: "Snowflake: the admin user the bootstrap signs in as",
    kind: "text",
    theirs: false,
    validate: nonEmpty,
  },
  {
    key: "snowflake.adminAuth",
    flag: "--snowflake-admin-auth",
    message: "Snowflake: how the admin signs in",
    kind: "choice",
    choices: ["key-pair", "pat"],
    theirs: false,
  },
  {
    key: "dbtCloud.accountId",
    flag: "--dbt-account-id",
    message: "dbt Cloud: account ID",
    kind: "integer",
    theirs: true,
  },
  {
    key: "dbtCloud.jobId",
    flag: "--dbt-job-id",
    message: "dbt Cloud: the job that builds the e-mail model",
    kind: "integer",
    theirs: true,
  },
  {
    key: "dbtCloud.baseUrl",
    flag: "--dbt-url",
    message: "dbt Cloud: URL",
    kind: "text",
    theirs: false,
    validate: url,
  },
  {
    key: "airbyte.baseUrl",
    flag: "--airbyte-url",
    message: "Airbyte: public API URL",
    kind: "text",
    theirs: false,
    validate: url,
  },
  {
    key: "airbyte.workspace",
    flag: "--airbyte-workspace",
    message: "Airbyte: workspace name",
    kind: "text",
    theirs: false,
    validate: nonEmpty,
  },
  {
    key: "grouparoo.baseUrl",
    flag: "--grouparoo-url",
    message: "Grouparoo: URL",
    kind: "text",
    theirs: false,
    validate: url,
  },
];

/** The --values file: the same settings, nested as in KickstartSettings, every one optional; never a secret. */
export const settingsFileSchema = z.strictObject({
  airbyte: z.strictObject({ baseUrl: z.string(), workspace: z.string() }).partial().optional(),
  dbtCloud: z
    .strictObject({
      baseUrl: z.string(),
      accountId: z.number().int().positive(),
      jobId: z.number().int().positive(),
    })
    .partial()
    .optional(),
  grouparoo: z.strictObject({ baseUrl: z.string() }).partial().optional(),
  zoom: z.strictObject({ accountId: z.string(), clientId: z.string() }).partial().optional(),
  salesforce: z
    .strictObject({ clientId: z.string(), startDate: z.string(), isSandbox: z.boolean() })
    .partial()
    .optional(),
  mailchimp: z.strictObject({ listId: z.string() }).partial().optional(),
  snowflake: z
    .strictObject({
      account: z.string(),
      adminUser: z.string(),
      adminAuth: z.enum(["key-pair", "pat"]),
      monthlyCreditQuota: z.number().int().positive(),
    })
    .partial()
    .optional(),
});
export type SettingsFile = z.infer<typeof settingsFileSchema>;

/** A setting's value in an object of settings, by its dotted key. */
export function settingAt(settings: unknown, key: string): unknown {
  return key
    .split(".")
    .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], settings);
}

/** The value of a setting as text (flags and prompts), parsed to its kind; an error message when it is not one. */
export function parseSetting(
  question: SettingQuestion,
  text: string,
): { value: unknown } | { problem: string } {
  const trimmed = text.trim();
  switch (question.kind) {
    case "integer":
      return /^[1-9]\d*$/.test(trimmed)
        ? { value: Number(trimmed) }
        : { problem: `expected a positive whole number, got "${trimmed}"` };
    case "boolean":
      if (/^(y|yes|true)$/i.test(trimmed)) return { value: true };
      if (/^(n|no|false)$/i.test(trimmed)) return { value: false };
      return { problem: `expected yes or no, got "${trimmed}"` };
    case "choice":
      return question.choices?.includes(trimmed)
        ? { value: trimmed }
        : { problem: `expected one of ${question.choices?.join(", ")}, got "${trimmed}"` };
    default: {
      const verdict = question.validate?.(trimmed) ?? true;
      return verdict === true ? { value: trimmed } : { problem: verdict };
    }
  }
}

/** KICKSTART_DEFAULTS with the given values put at their keys. */
export function settingsWith(values: ReadonlyMap<string, unknown>, quota?: number): KickstartSettings {
  const settings = structuredClone(KICKSTART_DEFAULTS) as unknown as Record<string, Record<string, unknown>>;
  for (const [key, value] of values) {
    const [section, field] = key.split(".") as [string, string];
    const target = settings[section];
    if (target) target[field] = value;
  }
  if (quota !== undefined) (settings.snowflake as Record<string, unknown>).monthlyCreditQuota = quota;
  return settings as unknown as KickstartSettings;
}
