import type { TapestryConfigInput } from "@tapestry/core/config";

/**
 * The configs `tapestry init` and `tapestry kickstart` write. The Rain Shield template is the
 * repository's own kickstart config (tapestry.config.ts) as a function of the settings a user
 * gives it: with KICKSTART_DEFAULTS it is that config (a test holds them equal).
 */

/** The plain settings of the Rain Shield template (secrets are never among them: only their names are in the config). */
export interface KickstartSettings {
  readonly airbyte: { readonly baseUrl: string; readonly workspace: string };
  readonly dbtCloud: { readonly baseUrl: string; readonly accountId: number; readonly jobId: number };
  readonly grouparoo: { readonly baseUrl: string };
  /** a Zoom Server-to-Server OAuth app */
  readonly zoom: { readonly accountId: string; readonly clientId: string };
  /** a Salesforce connected app */
  readonly salesforce: { readonly clientId: string; readonly startDate: string; readonly isSandbox: boolean };
  /** the Mailchimp audience Grouparoo syncs to */
  readonly mailchimp: { readonly listId: string };
  /** the Snowflake account the warehouse bootstrap sets up, and how its admin signs in */
  readonly snowflake: {
    readonly account: string;
    readonly adminUser: string;
    readonly adminAuth: "key-pair" | "pat";
    readonly monthlyCreditQuota: number;
  };
}

/** Rain Shield's own settings (the 2021 demo's), as in the repository's tapestry.config.ts. */
export const KICKSTART_DEFAULTS: KickstartSettings = {
  airbyte: { baseUrl: "https://api.airbyte.com/v1", workspace: "rain-shield" },
  dbtCloud: { baseUrl: "https://cloud.getdbt.com", accountId: 70403, jobId: 112233 },
  grouparoo: { baseUrl: "https://grouparoo.rain-shield.example" },
  zoom: { accountId: "rAiNsHiElDz00m", clientId: "rainshield-s2s-app" },
  salesforce: {
    clientId: "3MVG9rainshield.connected.app",
    startDate: "2021-01-01T00:00:00Z",
    isSandbox: false,
  },
  mailchimp: { listId: "a1b2c3d4e5" },
  snowflake: {
    account: "rainshield-analytics",
    adminUser: "TAPESTRY_ADMIN",
    adminAuth: "key-pair",
    monthlyCreditQuota: 20,
  },
};

/** The Rain Shield pipeline: Zoom + Salesforce -> Airbyte -> dbt Cloud -> Grouparoo -> Mailchimp. */
export function kickstartConfig(s: KickstartSettings): TapestryConfigInput {
  return {
    tools: {
      airbyte: {
        baseUrl: s.airbyte.baseUrl,
        auth: {
          kind: "client-credentials",
          clientIdSecret: "AIRBYTE_CLIENT_ID",
          clientSecretSecret: "AIRBYTE_CLIENT_SECRET",
        },
      },
      "dbt-cloud": { baseUrl: s.dbtCloud.baseUrl, tokenSecret: "DBT_CLOUD_TOKEN" },
      grouparoo: { baseUrl: s.grouparoo.baseUrl, apiKeySecret: "GROUPAROO_API_KEY" },
    },
    warehouse: {
      account: s.snowflake.account,
      admin: {
        user: s.snowflake.adminUser,
        auth:
          s.snowflake.adminAuth === "pat"
            ? { kind: "pat", tokenSecret: "SNOWFLAKE_ADMIN_TOKEN" }
            : { kind: "key-pair", privateKeySecret: "SNOWFLAKE_ADMIN_PRIVATE_KEY" },
      },
      monthlyCreditQuota: s.snowflake.monthlyCreditQuota,
    },
    airbyte: {
      workspace: s.airbyte.workspace,
      sources: [
        {
          name: "zoom",
          type: "zoom",
          settings: { account_id: s.zoom.accountId, client_id: s.zoom.clientId },
          secrets: { client_secret: "ZOOM_CLIENT_SECRET" },
        },
        {
          name: "salesforce",
          type: "salesforce",
          settings: {
            client_id: s.salesforce.clientId,
            start_date: s.salesforce.startDate,
            ...(s.salesforce.isSandbox ? { is_sandbox: true } : {}),
          },
          secrets: { client_secret: "SALESFORCE_CLIENT_SECRET", refresh_token: "SALESFORCE_REFRESH_TOKEN" },
        },
      ],
      connections: [
        {
          name: "zoom-webinar-registrants",
          source: "zoom",
          namespace: { format: "zoom" },
          streams: [{ name: "webinar_registrants", syncMode: "full_refresh_overwrite" }],
          schedule: "manual",
        },
        {
          name: "salesforce-contacts",
          source: "salesforce",
          namespace: { format: "salesforce" },
          streams: [
            {
              name: "Contact",
              syncMode: "incremental_deduped_history",
              cursorField: ["SystemModstamp"],
              primaryKey: [["Id"]],
            },
          ],
          schedule: "manual",
        },
      ],
    },
    grouparoo: {
      model: { id: "people", name: "People" },
      source: {
        id: "email_model",
        name: "E-mail model (dbt)",
        table: "EMAIL_MODEL",
        properties: [
          { id: "email", column: "EMAIL", type: "email", unique: true },
          { id: "first_name", column: "FIRST_NAME" },
          { id: "last_name", column: "LAST_NAME" },
          { id: "company", column: "COMPANY" },
        ],
      },
      schedule: { id: "sch_mailchimp_audience", name: "Mailchimp audience", sortColumn: "LAST_SEEN_AT" },
      destination: {
        id: "mailchimp_audience",
        name: "Rain Shield audience",
        type: "mailchimp",
        listId: s.mailchimp.listId,
        apiKeySecret: "MAILCHIMP_API_KEY",
        mapping: { email_address: "email", FNAME: "first_name", LNAME: "last_name" },
      },
    },
    pipelines: [
      {
        name: "rain-shield-audience",
        description: "Zoom webinar registrants + Salesforce contacts -> email model -> Mailchimp audience",
        schedule: { expression: "cron(0 6 * * ? *)", timezone: "America/New_York" },
        overlap: "skip",
        stages: [
          {
            name: "ingest",
            steps: [
              {
                name: "zoom-webinar-registrants",
                tool: "airbyte",
                connection: "zoom-webinar-registrants",
                timeoutMinutes: 60,
                pollIntervalSeconds: 30,
                minRows: 1,
              },
              {
                name: "salesforce-contacts",
                tool: "airbyte",
                connection: "salesforce-contacts",
                timeoutMinutes: 60,
                pollIntervalSeconds: 30,
                minRows: 1,
              },
            ],
          },
          {
            name: "transform",
            steps: [
              {
                name: "email-model",
                tool: "dbt-cloud",
                accountId: s.dbtCloud.accountId,
                jobId: s.dbtCloud.jobId,
                timeoutMinutes: 30,
                pollIntervalSeconds: 15,
              },
            ],
          },
          {
            name: "sync",
            steps: [
              {
                name: "mailchimp-audience",
                tool: "grouparoo",
                scheduleId: "sch_mailchimp_audience",
                timeoutMinutes: 60,
                pollIntervalSeconds: 30,
                minRows: 1,
              },
            ],
          },
        ],
      },
    ],
  };
}

/** The smallest config that is valid: one dbt Cloud job, run each morning. Replace the ids with yours. */
export function blankConfig(): TapestryConfigInput {
  return {
    tools: { "dbt-cloud": { baseUrl: "https://cloud.getdbt.com", tokenSecret: "DBT_CLOUD_TOKEN" } },
    pipelines: [
      {
        name: "my-pipeline",
        description:
          "replace the dbt Cloud account and job ids with yours; add stages for Airbyte and Grouparoo",
        schedule: { expression: "cron(0 6 * * ? *)", timezone: "UTC" },
        stages: [
          {
            name: "transform",
            steps: [{ name: "dbt-job", tool: "dbt-cloud", accountId: 1, jobId: 1, timeoutMinutes: 30 }],
          },
        ],
      },
    ],
  };
}

/**
 * The text of a tapestry.config.ts holding `config`: plain data, typed through a type-only import
 * (erased when it runs, so the file loads wherever it is, inside this repository or not).
 */
export function configSource(config: TapestryConfigInput, about: readonly string[]): string {
  return [
    'import type { TapestryConfigInput } from "@tapestry/core/config";',
    "",
    "/**",
    ...about.map((line) => (line ? ` * ${line}` : " *")),
    " */",
    `export default ${JSON.stringify(config, null, 2)} satisfies TapestryConfigInput;`,
    "",
  ].join("\n");
}

export const KICKSTART_ABOUT = [
  "The Rain Shield pipeline (Tapestry's kickstart): Zoom webinar registrants and Salesforce",
  "contacts are synced into the warehouse by Airbyte, one dbt model merges them into one row per",
  "e-mail address, and Grouparoo syncs that audience to Mailchimp.",
  "",
  "Secrets are referenced by NAME only. Deployed: `npx tapestry secrets set <NAME> --stage <stage>`.",
  "Embedded with real tools: `npx tapestry local --real <tool>` asks for them (or reads",
  "TAPESTRY_SECRET_<NAME>). Check this file with `npx tapestry validate`.",
];

export const BLANK_ABOUT = [
  "A Tapestry config: the tools, the pipelines and their schedules (README: 'Configure your pipelines').",
  "Secrets are referenced by NAME only. Check this file with `npx tapestry validate`.",
];
