import { z } from "zod";
import type { ConfigIssue } from "../errors";
import { SECRET_NAME, secretNameProblem } from "../names";
import { formatPath } from "../zod-messages";

/**
 * The `warehouse` section: the Snowflake account Tapestry bootstraps, the admin it signs in as, and
 * the names of everything it creates (all derived from `prefix` unless set one by one). Only NAMES
 * of secrets appear here; the values live in the stage's secret store.
 */

/**
 * A name Tapestry gives an object it creates: an unquoted Snowflake identifier in upper case, which
 * is how Snowflake stores and shows it, so the name in the config is the name in the account.
 */
export const SNOWFLAKE_IDENTIFIER = {
  pattern: /^[A-Z][A-Z0-9_]{0,254}$/,
  rule: "an upper-case letter, then upper-case letters, digits and underscores, at most 255 characters",
} as const;

/** The roles Snowflake itself defines: Tapestry never creates, owns or replaces them. */
export const SNOWFLAKE_SYSTEM_ROLES = [
  "ACCOUNTADMIN",
  "ORGADMIN",
  "SECURITYADMIN",
  "SYSADMIN",
  "USERADMIN",
  "PUBLIC",
] as const;

/** Warehouse sizes as CREATE/ALTER WAREHOUSE take them, smallest first. */
export const WAREHOUSE_SIZES = [
  "XSMALL",
  "SMALL",
  "MEDIUM",
  "LARGE",
  "XLARGE",
  "XXLARGE",
  "XXXLARGE",
  "X4LARGE",
  "X5LARGE",
  "X6LARGE",
] as const;
export type WarehouseSize = (typeof WAREHOUSE_SIZES)[number];

function identifierProblem(value: unknown, example: string): string | undefined {
  if (typeof value !== "string")
    return `expected a Snowflake name: ${SNOWFLAKE_IDENTIFIER.rule}, e.g. "${example}"`;
  if (SNOWFLAKE_IDENTIFIER.pattern.test(value)) return undefined;
  const upper = value.toUpperCase();
  const hint = SNOWFLAKE_IDENTIFIER.pattern.test(upper)
    ? `: did you mean "${upper}"?`
    : `, e.g. "${example}"`;
  return `expected a Snowflake name: ${SNOWFLAKE_IDENTIFIER.rule} (Snowflake stores unquoted names in upper case)${hint}, got ${JSON.stringify(value)}`;
}

const identifier = (example: string) =>
  z.custom<string>((value) => identifierProblem(value, example) === undefined, {
    error: (issue) =>
      issue.input === undefined
        ? `is required: expected a Snowflake name, e.g. "${example}"`
        : identifierProblem(issue.input, example),
  });

/** The NAME of a secret, never its value; what is not a name is never repeated (it may be the value). */
const secretName = z.custom<string>((value) => secretNameProblem(value) === undefined, {
  error: (issue) =>
    issue.input === undefined
      ? `is required: expected the NAME of a secret, in ${SECRET_NAME.rule} (its value is set with \`tapestry secrets set\`)`
      : secretNameProblem(issue.input),
});

const ACCOUNT_EXAMPLE =
  '"myorg-myaccount" (organization and account name) or a legacy locator such as "xy12345.us-east-2.aws"';

/**
 * Why `value` is not an account identifier. A URL or host name gets the identifier inside it
 * suggested, since that is what people paste from the browser.
 */
export function accountIdentifierProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return `expected a Snowflake account identifier, e.g. ${ACCOUNT_EXAMPLE}`;
  if (/^[A-Za-z][A-Za-z0-9_]*(-[A-Za-z0-9_]+)?(\.[A-Za-z0-9-]+){0,2}$/.test(value) && value.length <= 255) {
    return /snowflakecomputing/i.test(value)
      ? `expected the account identifier, not a host name: write the part before ".snowflakecomputing.com"`
      : undefined;
  }
  const host = /^(?:[a-z]+:\/\/)?([^/:]+)\.snowflakecomputing\.(?:com|cn)/i.exec(value)?.[1];
  if (host) {
    return `expected the account identifier, not a URL: for ${JSON.stringify(value)} write "${host.replace(/\.privatelink$/i, "")}"`;
  }
  return `expected a Snowflake account identifier, e.g. ${ACCOUNT_EXAMPLE}, got ${JSON.stringify(value)}`;
}

const accountIdentifier = z.custom<string>((value) => accountIdentifierProblem(value) === undefined, {
  error: (issue) =>
    issue.input === undefined
      ? `is required: expected a Snowflake account identifier, e.g. ${ACCOUNT_EXAMPLE}`
      : accountIdentifierProblem(issue.input),
});

function wholeNumber(expected: string, min: number, max: number) {
  return z.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, {
    error: expected,
  });
}

/** How Tapestry's admin signs in: a key pair (JWT) or a programmatic access token; never a password. */
const adminAuthSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      kind: z.literal("key-pair"),
      /** the admin's private key, PEM (PKCS#8), encrypted or not */
      privateKeySecret: secretName,
      /** the passphrase of an encrypted private key */
      passphraseSecret: secretName.optional(),
    }),
    z.strictObject({
      kind: z.literal("pat"),
      /** a programmatic access token (Snowflake requires a network policy on a user that has one) */
      tokenSecret: secretName,
    }),
  ],
  {
    error:
      'expected kind "key-pair" (the admin\'s private key, by secret name) or "pat" (a programmatic access token, by secret name); Snowflake is phasing out password sign-in',
  },
);

/** The admin user Tapestry signs in as: it needs SYSADMIN and SECURITYADMIN (and ACCOUNTADMIN for a credit quota). */
const adminSchema = z.strictObject({
  /** the user's login name, as given to Snowflake */
  user: z
    .string({ error: 'expected the admin\'s user name, e.g. "TAPESTRY_ADMIN"' })
    .max(255, { error: "expected a user name of at most 255 characters" })
    .regex(/^\S(.*\S)?$/, {
      error: 'expected the admin\'s user name, without leading or trailing spaces, e.g. "TAPESTRY_ADMIN"',
    }),
  auth: adminAuthSchema,
});

/**
 * Names of everything Tapestry creates; each one left out defaults to the prefix plus its role in
 * the pipeline (see warehouseNames).
 */
const namesSchema = z.strictObject({
  warehouse: identifier("TAPESTRY_WAREHOUSE").optional(),
  /** where Airbyte loads (owned by the loader role) */
  rawDatabase: identifier("TAPESTRY_RAW").optional(),
  /** where dbt builds (owned by the transformer role) */
  analyticsDatabase: identifier("TAPESTRY_ANALYTICS").optional(),
  /** where Tapestry records the statements it applied */
  adminDatabase: identifier("TAPESTRY_ADMIN").optional(),
  loaderRole: identifier("TAPESTRY_LOADER").optional(),
  transformerRole: identifier("TAPESTRY_TRANSFORMER").optional(),
  reporterRole: identifier("TAPESTRY_REPORTER").optional(),
  airbyteUser: identifier("TAPESTRY_AIRBYTE").optional(),
  dbtUser: identifier("TAPESTRY_DBT").optional(),
  grouparooUser: identifier("TAPESTRY_GROUPAROO").optional(),
  resourceMonitor: identifier("TAPESTRY_MONITOR").optional(),
  networkPolicy: identifier("TAPESTRY_NETWORK_POLICY").optional(),
});

/** An IPv4 address or CIDR block: Snowflake's network policies take IPv4 only. */
const IPV4_CIDR =
  /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\/(3[0-2]|[12]?\d))?$/;
const ipv4Range = z
  .string({ error: 'expected an IPv4 address or CIDR block, e.g. "203.0.113.0/24"' })
  .regex(IPV4_CIDR, {
    error:
      'expected an IPv4 address or CIDR block, e.g. "203.0.113.0/24" (Snowflake network policies take IPv4 only)',
  });

/** A network policy on the service users: they may sign in from these addresses only. */
const networkPolicySchema = z.strictObject({
  allowedIpList: z
    .array(ipv4Range, { error: 'expected a list of IPv4 addresses or CIDR blocks, e.g. ["203.0.113.0/24"]' })
    .min(1, {
      error:
        "a network policy needs at least one allowed address: list where Airbyte, dbt and Grouparoo connect from",
    }),
  blockedIpList: z
    .array(ipv4Range, { error: 'expected a list of IPv4 addresses or CIDR blocks, e.g. ["203.0.113.9"]' })
    .default([]),
});

export const PREFIX_RULE = {
  pattern: /^[A-Z][A-Z0-9_]{0,63}$/,
  rule: "an upper-case letter, then upper-case letters, digits and underscores, at most 64 characters",
} as const;

export const warehouseSchema = z.strictObject({
  /** `<orgname>-<account_name>`, or a legacy account locator with its region */
  account: accountIdentifier,
  admin: adminSchema,
  /** every name Tapestry creates starts with it, unless set under `names` */
  prefix: z
    .string({ error: `expected a prefix: ${PREFIX_RULE.rule}, e.g. "TAPESTRY_"` })
    .regex(PREFIX_RULE.pattern, {
      error: `expected a prefix: ${PREFIX_RULE.rule}, e.g. "TAPESTRY_" (it starts Snowflake names and secret names)`,
    })
    .default("TAPESTRY_"),
  names: namesSchema.prefault({}),
  /** the warehouse's size; XSMALL bills 1 credit an hour while it runs */
  size: z
    .enum(WAREHOUSE_SIZES, { error: `expected a warehouse size: one of ${WAREHOUSE_SIZES.join(", ")}` })
    .default("XSMALL"),
  /** idle seconds before the warehouse suspends (and stops billing) */
  autoSuspendSeconds: wholeNumber(
    "expected a whole number of seconds from 60 to 86400 (a warehouse that never suspends bills every hour it exists)",
    60,
    86_400,
  ).default(60),
  /** credits a month for the warehouse; set, a resource monitor notifies at 90%, suspends it at 100% (running statements finish) and at 110% at once */
  monthlyCreditQuota: wholeNumber(
    "expected a whole number of credits a month from 1 to 1000000",
    1,
    1_000_000,
  ).optional(),
  /** set, the service users may sign in from these addresses only */
  networkPolicy: networkPolicySchema.optional(),
  /** a connection that is not up by then fails (a connect without network never ends by itself) */
  connectTimeoutSeconds: wholeNumber("expected a whole number of seconds from 1 to 300", 1, 300).default(30),
  /** one statement that has not answered by then fails (and is cancelled) */
  statementTimeoutSeconds: wholeNumber("expected a whole number of seconds from 1 to 3600", 1, 3600).default(
    120,
  ),
});

export type WarehouseConfigInput = z.input<typeof warehouseSchema>;
export type WarehouseConfig = z.output<typeof warehouseSchema>;
export type WarehouseAdminAuth = WarehouseConfig["admin"]["auth"];
export type WarehouseNameOverrides = WarehouseConfig["names"];

/**
 * Rules across the section's fields, at their paths: two objects of one kind may not share a
 * name, no name may be a role Snowflake defines, and no service user may be the admin itself
 * (the bootstrap sets each service user's key: it would lock the admin out).
 */
export function warehouseIssues(warehouse: WarehouseConfig | undefined): ConfigIssue[] {
  if (!warehouse) return [];
  const names = resolvedNameFields(warehouse);
  const issues: ConfigIssue[] = [];
  const at = (field: keyof WarehouseNameOverrides) =>
    formatPath(
      warehouse.names[field] === undefined ? ["warehouse", "prefix"] : ["warehouse", "names", field],
    );
  const kinds: readonly (readonly (keyof WarehouseNameOverrides)[])[] = [
    ["rawDatabase", "analyticsDatabase", "adminDatabase"],
    ["loaderRole", "transformerRole", "reporterRole"],
    ["airbyteUser", "dbtUser", "grouparooUser"],
  ];
  for (const fields of kinds) {
    const seen = new Map<string, keyof WarehouseNameOverrides>();
    for (const field of fields) {
      const name = names[field];
      const first = seen.get(name);
      if (first === undefined) seen.set(name, field);
      else
        issues.push({
          path: at(field),
          message: `names ${field} and ${first} are both "${name}": each needs its own name`,
        });
    }
  }
  for (const field of ["loaderRole", "transformerRole", "reporterRole"] as const) {
    if ((SNOWFLAKE_SYSTEM_ROLES as readonly string[]).includes(names[field])) {
      issues.push({
        path: at(field),
        message: `"${names[field]}" is a role Snowflake defines: Tapestry creates roles of its own; choose another name`,
      });
    }
  }
  for (const field of ["airbyteUser", "dbtUser", "grouparooUser"] as const) {
    if (names[field] === warehouse.admin.user.toUpperCase()) {
      issues.push({
        path: at(field),
        message: `"${names[field]}" is the admin user (warehouse.admin.user): a service user gets a key of Tapestry's, which would lock the admin out; choose another name`,
      });
    }
  }
  return issues;
}

/** The resolved name of every object the section names: the override, else prefix + default suffix. */
export function resolvedNameFields(warehouse: WarehouseConfig): Required<WarehouseNameOverrides> {
  const { prefix, names } = warehouse;
  const pick = (field: keyof WarehouseNameOverrides): string =>
    names[field] ?? `${prefix}${NAME_SUFFIXES[field]}`;
  const out = {} as Record<keyof WarehouseNameOverrides, string>;
  for (const field of Object.keys(NAME_SUFFIXES) as (keyof WarehouseNameOverrides)[])
    out[field] = pick(field);
  return out;
}

/** What follows the prefix in each default name. */
export const NAME_SUFFIXES: { readonly [K in keyof Required<WarehouseNameOverrides>]: string } = {
  warehouse: "WAREHOUSE",
  rawDatabase: "RAW",
  analyticsDatabase: "ANALYTICS",
  adminDatabase: "ADMIN",
  loaderRole: "LOADER",
  transformerRole: "TRANSFORMER",
  reporterRole: "REPORTER",
  airbyteUser: "AIRBYTE",
  dbtUser: "DBT",
  grouparooUser: "GROUPAROO",
  resourceMonitor: "MONITOR",
  networkPolicy: "NETWORK_POLICY",
};
