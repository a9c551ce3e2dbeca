import { resolve } from "node:path";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { DEPLOYMENT_STAGE_NAME } from "@tapestry/core/names";
import { announcementPath, findRunningLocal, processIsAlive, readAnnouncement } from "../local-announcement";
import { UsageError } from "../secrets-command";
import { fetchTransport, StatusApiClient, type Transport } from "./client";
import { CloudFormationClient, DescribeStacksCommand } from "./cloudformation";
import { StatusApiLookupError } from "./errors";
import { type CredentialsProvider, signedTransport } from "./signed-transport";

/** Where a command's requests go: `--local [url]`, or `--stage <stage>` (with `--api-url`, `--region`). */
export interface TargetOptions {
  /** true: the running `tapestry local`; a string: its URL */
  readonly local?: string | boolean;
  readonly stage?: string;
  readonly apiUrl?: string;
  readonly region?: string;
  readonly stateDir: string;
}

/** What tests replace: fetch, the process check, AWS credentials and CloudFormation. */
export interface TargetDependencies {
  readonly fetch?: typeof fetch;
  readonly isAlive?: (pid: number) => boolean;
  readonly credentials?: CredentialsProvider;
  readonly createCloudFormationClient?: (options: { readonly region?: string }) => CloudFormationClient;
}

/** The stack and output that hold a stage's status API URL (stacks/status-api.ts; SST names stacks `<stage>-<app>-<stack>`). */
export const statusApiStackName = (stage: string) => `${stage}-tapestry-StatusApi`;
export const STATUS_API_URL_OUTPUT = "StatusApiUrl";

const FORBIDDEN_HINT =
  "your AWS credentials must be allowed execute-api:Invoke on the API (README, 'Ask what is going on'); check the account with `aws sts get-caller-identity`";

/** The client for the target the options name; the embedded control plane when they name none. */
export async function resolveTarget(
  options: TargetOptions,
  dependencies: TargetDependencies = {},
): Promise<StatusApiClient> {
  const target = await resolveTransport(options, dependencies);
  return new StatusApiClient(target.description, target.transport, target.forbiddenHint);
}

/** Where the options point: a transport to it (signed for a stage), and how to name it in messages. */
export interface ResolvedTarget {
  readonly description: string;
  readonly transport: Transport;
  /** said after a 403: how to get access */
  readonly forbiddenHint?: string;
}

/** The transport to the target the options name (`tapestry dashboard` proxies through it). */
export async function resolveTransport(
  options: TargetOptions,
  dependencies: TargetDependencies = {},
): Promise<ResolvedTarget> {
  if (options.stage === undefined) {
    if (options.apiUrl !== undefined || options.region !== undefined) {
      throw new UsageError(
        "--api-url and --region go with --stage <stage> (a deployed stage); for the embedded control plane use --local [url]",
      );
    }
    const url =
      typeof options.local === "string"
        ? checkedUrl(options.local, "--local")
        : localUrl(options, dependencies);
    return {
      description: `the embedded control plane at ${url}`,
      transport: fetchTransport(url, dependencies.fetch),
    };
  }

  const stage = options.stage;
  if (!DEPLOYMENT_STAGE_NAME.pattern.test(stage)) {
    throw new UsageError(
      `${JSON.stringify(stage)} is not a stage name: expected ${DEPLOYMENT_STAGE_NAME.rule}`,
    );
  }
  const apiUrl = options.apiUrl === undefined ? undefined : checkedUrl(options.apiUrl, "--api-url");
  let cloudFormation: CloudFormationClient | undefined;
  const client = () => {
    cloudFormation ??= (dependencies.createCloudFormationClient ?? defaultCloudFormationClient)({
      region: options.region,
    });
    return cloudFormation;
  };
  try {
    const url = apiUrl ?? (await lookUpApiUrl(stage, client()));
    const region = options.region ?? regionOfApiUrl(url) ?? (await configuredRegion(client()));
    return {
      description: `the status API of stage ${stage} (${url})`,
      transport: signedTransport({
        baseUrl: url,
        region,
        credentials: dependencies.credentials ?? defaultProvider(),
        fetch: dependencies.fetch,
      }),
      forbiddenHint: FORBIDDEN_HINT,
    };
  } finally {
    cloudFormation?.destroy();
  }
}

function defaultCloudFormationClient(options: { readonly region?: string }): CloudFormationClient {
  return new CloudFormationClient(options.region ? { region: options.region } : {});
}

/** The URL of the running `tapestry local` of the state folder. */
function localUrl(options: TargetOptions, dependencies: TargetDependencies): string {
  const stateDir = resolve(options.stateDir);
  const running = findRunningLocal(stateDir, dependencies.isAlive ?? processIsAlive);
  if (running) return running.url;
  const left = readAnnouncement(stateDir);
  throw new UsageError(
    left
      ? `the tapestry local that wrote ${announcementPath(stateDir)} (pid ${left.pid}) is no longer running: start it again (npm start), or pass --local <url> or --stage <stage>`
      : `no embedded control plane is running for ${stateDir} (no ${announcementPath(stateDir)}): start one with \`npm start\` (tapestry local), pass --state-dir <dir> if it runs with another, --local <url>, or --stage <stage> for a deployed one`,
  );
}

function checkedUrl(text: string, option: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:") return text.replace(/\/+$/, "");
  } catch {
    // refused below
  }
  throw new UsageError(
    `${option} expects an http(s) URL, e.g. http://127.0.0.1:4000, got ${JSON.stringify(text)}`,
  );
}

/** `https://abc123.execute-api.eu-central-1.amazonaws.com` -> eu-central-1. */
export function regionOfApiUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

async function configuredRegion(client: CloudFormationClient): Promise<string> {
  try {
    return await client.config.region();
  } catch (error) {
    throw new UsageError(
      "no AWS region: pass --region <region>, or set AWS_REGION (or a region in your AWS profile)",
      { cause: error },
    );
  }
}

/** The stage's StatusApiUrl output, from CloudFormation. */
async function lookUpApiUrl(stage: string, client: CloudFormationClient): Promise<string> {
  await configuredRegion(client);
  const stackName = statusApiStackName(stage);
  let outputs: readonly { OutputKey?: string; OutputValue?: string }[];
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = answer.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const message = error instanceof Error ? error.message : String(error);
    if (name === "CredentialsProviderError") {
      throw new StatusApiLookupError(
        `no AWS credentials to look up stage ${stage} with (${message}): run \`aws configure\`, set AWS_PROFILE=<profile>, or run \`aws sso login --profile <profile>\``,
        true,
        { cause: error },
      );
    }
    if (/does not exist/.test(message)) {
      throw new StatusApiLookupError(
        `stage ${stage} is not deployed in ${await client.config.region()}: there is no stack ${stackName} (deploy it with \`npx sst deploy --stage ${stage}\`, or check --region / AWS_REGION)`,
        true,
        { cause: error },
      );
    }
    throw new StatusApiLookupError(
      `could not look up the status API of stage ${stage} (CloudFormation DescribeStacks ${stackName}: ${name ? `${name}: ` : ""}${message}); pass its URL with --api-url <url>`,
      false,
      { cause: error },
    );
  }
  const url = outputs.find((o) => o.OutputKey === STATUS_API_URL_OUTPUT)?.OutputValue;
  if (!url) {
    throw new StatusApiLookupError(
      `stack ${stackName} has no ${STATUS_API_URL_OUTPUT} output yet (is its deploy finished?); pass the URL with --api-url <url>`,
      false,
    );
  }
  return checkedUrl(url, `the ${STATUS_API_URL_OUTPUT} output`);
}
