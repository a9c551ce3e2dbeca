import { defineConfig } from "@tapestry/core/config";

/**
 * The kickstart pipeline of Rain Shield (the 2021 Tapestry demo): Zoom webinar registrants and
 * Salesforce contacts are synced into the warehouse by Airbyte, one dbt model merges them into
 * one row per e-mail address, and Grouparoo syncs that audience to Mailchimp.
 *
 * Secrets are referenced by NAME only; set their values with `tapestry secrets set <NAME>`
 * (SSM SecureString under /tapestry/<stage>/ on AWS). Replace the ids below with your own.
 */
export default defineConfig({
  tools: {
    airbyte: {
      baseUrl: "https://api.airbyte.com/v1",
      auth: {
        kind: "client-credentials",
        clientIdSecret: "AIRBYTE_CLIENT_ID",
        clientSecretSecret: "AIRBYTE_CLIENT_SECRET",
      },
    },
    "dbt-cloud": {
      baseUrl: "https://cloud.getdbt.com",
      tokenSecret: "DBT_CLOUD_TOKEN",
    },
    grouparoo: {
      baseUrl: "https://grouparoo.rain-shield.example",
      apiKeySecret: "GROUPAROO_API_KEY",
    },
  },
  // The Snowflake account `tapestry warehouse plan` bootstraps: every name defaults from the prefix
  // "TAPESTRY_" (TAPESTRY_RAW, TAPESTRY_LOADER, TAPESTRY_AIRBYTE ...); the warehouse is XSMALL and
  // suspends after 60 idle seconds; the resource monitor stops it at 20 credits a month.
  warehouse: {
    account: "rainshield-analytics",
    admin: {
      user: "TAPESTRY_ADMIN",
      auth: { kind: "key-pair", privateKeySecret: "SNOWFLAKE_ADMIN_PRIVATE_KEY" },
    },
    monthlyCreditQuota: 20,
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
              connectionId: "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11",
              timeoutMinutes: 60,
              pollIntervalSeconds: 30,
              minRows: 1,
            },
            {
              name: "salesforce-contacts",
              tool: "airbyte",
              connectionId: "c2a91e7b-3f64-4d8a-8e21-6a9d0b7f4c32",
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
              accountId: 70403,
              jobId: 112233,
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
});
