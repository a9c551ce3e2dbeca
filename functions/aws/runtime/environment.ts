/**
 * The environment contract of the deployed functions, and how they read it: each variable checked
 * on the invocation that first needs it, never at a cold start, so a function needs exactly the
 * variables of the dependencies its code path touches. A missing or malformed variable is an
 * EnvironmentError naming it, so it shows up by name in the Lambda's error and in Step Functions'
 * history.
 *
 * Environment contract (set by the stacks):
 *   every function      POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL
 *                       (read by Powertools itself), TAPESTRY_STAGE
 *   TAPESTRY_STAGE              the SSM path of the stage's secrets (the tools', the webhooks',
 *                               Slack's): start/poll/cancel-step, reconcile-run, await-webhook,
 *                               webhook-receiver, notify-slack; evaluate-alerts names its alarms by it
 *   TAPESTRY_LEDGER_TABLE       the run ledger: run-lock, project-event, status-api, reconcile-run;
 *                               the items beside it: task tokens (await-webhook, webhook-receiver),
 *                               incidents (evaluate-alerts, check-freshness, status-api), the
 *                               notifier's idempotency records (notify-slack)
 *   TAPESTRY_EVENT_BUS          the event bus, for every function that publishes: run-lock,
 *                               publish-event, start/poll/cancel-step, reconcile-run, status-api,
 *                               await-webhook, webhook-receiver, evaluate-alerts, check-freshness
 *   TAPESTRY_STATE_MACHINE_ARN  the pipeline-run state machine: start-scheduled-run, status-api,
 *                               reconcile-run (await-webhook and webhook-receiver answer its task
 *                               tokens, which name it)
 *   TAPESTRY_STATUS_API_URL     the status API's base URL, for the run paths in Slack messages: notify-slack
 *   TAPESTRY_PROVISION_STATE_MACHINE_ARN  the provision state machine: status-api
 *   TAPESTRY_GROUPAROO_CONFIG_BUCKET      the bucket of Grouparoo's config files: write-grouparoo-config
 *   TAPESTRY_TOOL_STACKS                  the self-hosted tools' stacks (name, template URL, parameters): tool-stack
 *   TAPESTRY_TOOL_STACKS_ROLE_ARN         the CloudFormation service role they are deployed with: tool-stack
 *   TAPESTRY_DEPROVISION_STATE_MACHINE_ARN the deprovision state machine: status-api (DELETE /provisioning)
 * The tool stacks' records are `STACK#TOOLS` items of TAPESTRY_LEDGER_TABLE (tool-stack,
 * deprovisioning-run, status-api).
 * Provisioning's runs are items of TAPESTRY_LEDGER_TABLE (`PROV#`: provisioning-run, the provision
 * tasks, status-api); the ids it records are SSM parameters under
 * /tapestry/<TAPESTRY_STAGE>/provisioning/airbyte/ (ensure-airbyte writes them; every function with
 * connectors reads them to resolve a step's `connection`).
 * (record-metrics only writes EMF to its log.)
 * The tapestry config is not in the environment (Lambda's 4 KB limit): see ./config.ts.
 */
import { TapestryError } from "@tapestry/core/errors";
import { DEPLOYMENT_STAGE_NAME } from "@tapestry/core/names";
import { issuesText } from "@tapestry/core/zod-messages";
import * as z from "zod";

/** The function was deployed without something it needs: a variable, the bundled config, or a dependency its entry does not wire. */
export class EnvironmentError extends TapestryError {
  override readonly name = "EnvironmentError";
}

const VARIABLES = {
  TAPESTRY_STAGE: {
    what: "the stage's name (its tools' secrets are the SSM parameters /tapestry/<stage>/<NAME>)",
    schema: z.string().regex(DEPLOYMENT_STAGE_NAME.pattern, {
      error: `expected a stage name: ${DEPLOYMENT_STAGE_NAME.rule}`,
    }),
  },
  TAPESTRY_LEDGER_TABLE: {
    what: "the name of the run ledger's DynamoDB table",
    schema: z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, {
      error: "expected a DynamoDB table name: 3 to 255 letters, digits, '_', '-' and '.'",
    }),
  },
  TAPESTRY_EVENT_BUS: {
    what: "the name (or ARN) of the Tapestry event bus, tapestry-<stage>",
    schema: z
      .string()
      .regex(/^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[A-Za-z0-9._\-/]{1,256}$/, {
        error: "expected an event bus name or ARN",
      }),
  },
  TAPESTRY_STATUS_API_URL: {
    what: "the status API's base URL (https://<api>.execute-api.<region>.amazonaws.com), for the links of Slack messages",
    schema: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }),
  },
  TAPESTRY_STATE_MACHINE_ARN: {
    what: "the ARN of the pipeline-run state machine",
    schema: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
      error: "expected a state machine ARN, arn:aws:states:<region>:<account>:stateMachine:<name>",
    }),
  },
  TAPESTRY_PROVISION_STATE_MACHINE_ARN: {
    what: "the ARN of the provision state machine",
    schema: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
      error: "expected a state machine ARN, arn:aws:states:<region>:<account>:stateMachine:<name>",
    }),
  },
  TAPESTRY_GROUPAROO_CONFIG_BUCKET: {
    what: "the name of the S3 bucket Grouparoo's config files are written to",
    schema: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      error: "expected an S3 bucket name: 3 to 63 lower-case letters, digits, '.' and '-'",
    }),
  },
  TAPESTRY_TOOL_STACKS: {
    what: 'the self-hosted tools\' stacks as JSON, {"<tool>": {"stackName", "templateUrl", "parameters"}} (stacks/tools/templates.ts)',
    schema: z.string().refine(
      (raw) => {
        try {
          return typeof JSON.parse(raw) === "object";
        } catch {
          return false;
        }
      },
      { error: "expected a JSON object of the tool stacks" },
    ),
  },
  TAPESTRY_TOOL_STACKS_ROLE_ARN: {
    what: "the ARN of the CloudFormation service role the tool stacks are deployed with",
    schema: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, {
      error: "expected an IAM role ARN, arn:aws:iam::<account>:role/<name>",
    }),
  },
  TAPESTRY_DEPROVISION_STATE_MACHINE_ARN: {
    what: "the ARN of the deprovision state machine",
    schema: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
      error: "expected a state machine ARN, arn:aws:states:<region>:<account>:stateMachine:<name>",
    }),
  },
} as const;

export type VariableName = keyof typeof VARIABLES;

/** One variable of the contract, checked; EnvironmentError naming it when it is missing or malformed. */
export function env(name: VariableName): string {
  const { what, schema } = VARIABLES[name];
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") {
    throw new EnvironmentError(
      `environment variable ${name} is not set: this function needs ${what}; the stack that deploys it sets it`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new EnvironmentError(
      `environment variable ${name} is invalid (${issuesText(parsed.error.issues, { root: "" })}): it should hold ${what}`,
    );
  }
  return parsed.data;
}

/**
 * Built on the first call and kept for the life of the container (a module instance); a failed
 * build is not kept, so the next invocation tries again.
 */
export function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
