import { SSMClient } from "@aws-sdk/client-ssm";
import type { SecretListing } from "@tapestry/core/adapters/aws";
import { type SecretReference, secretReferences, type TapestryConfig } from "@tapestry/core/config";
import { TapestryError } from "@tapestry/core/errors";
import { provisioningSecretReferences } from "@tapestry/core/provisioning";
import { warehouseSecretReferences } from "@tapestry/core/provisioning/warehouse";
import { Command } from "commander";
import { applyCliPolicy, EXIT, withExamples } from "./cli-policy";
import { loadConfig } from "./load-config";
import { promptingSecretReader } from "./prompt-secrets";
import { table } from "./table";

/** The command was not run as it must be (its arguments, or no AWS region): exit 2, and nothing was asked of AWS. */
export class UsageError extends TapestryError {
  override readonly name = "UsageError";
}

/** What `tapestry secrets` needs from the outside world; tests inject a mocked SSM client and streams. */
export interface SecretsCommandDependencies {
  /** Builds the SSM client (region undefined: the AWS SDK's default chain, AWS_REGION or the profile's). */
  readonly createClient?: (options: { readonly region?: string }) => SSMClient;
  /** where `set` reads a value: a hidden prompt when it is a terminal, the whole stream otherwise */
  readonly stdin?: NodeJS.ReadStream;
  /** where the hidden prompt is written (stderr, so stdout carries only results) */
  readonly prompt?: NodeJS.WriteStream;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
  readonly loadConfig?: (file: string) => Promise<TapestryConfig>;
}

interface CommonOptions {
  readonly stage: string;
  readonly region?: string;
  readonly config: string;
}

/** The SSM adapters, loaded when a subcommand runs (they bring every AWS adapter: half a second). */
const awsAdapters = () => import("@tapestry/core/adapters/aws");

/** The parameter of a secret, checking the stage and the name (InvalidNameError). */
async function secretParameterName(stage: string, name: string): Promise<string> {
  return (await awsAdapters()).secretParameterName(stage, name);
}

/** Exit codes (cli-policy's): 0 done, 1 the work failed (AWS answered an error, a referenced secret is missing), 2 usage or config. */
const USAGE = EXIT.usage;
const FAILED = EXIT.failed;

/** stdin is read up to this many bytes (SSM takes 4 KB; the store says so more precisely). */
const MAX_STDIN_BYTES = 64 * 1024;

/**
 * `tapestry secrets set|list|remove`: the tools' secrets of a stage, kept as SSM SecureString
 * parameters `/tapestry/<stage>/<NAME>`. Values go in through a hidden prompt or stdin, never argv,
 * and never come out. `setExitCode` receives the command's exit code.
 */
export function createSecretsCommand(
  dependencies: SecretsCommandDependencies,
  setExitCode: (code: number) => void,
): Command {
  const deps = {
    createClient:
      dependencies.createClient ??
      ((options: { readonly region?: string }) =>
        new SSMClient(options.region ? { region: options.region } : {})),
    stdin: dependencies.stdin ?? process.stdin,
    prompt: dependencies.prompt ?? process.stderr,
    out: dependencies.out ?? ((line: string) => process.stdout.write(`${line}\n`)),
    err: dependencies.err ?? ((line: string) => process.stderr.write(`${line}\n`)),
    loadConfig: dependencies.loadConfig ?? loadConfig,
  };

  const secrets = new Command("secrets").description(
    "set, list and remove the tools' secrets of a deployed stage (SSM SecureString parameters /tapestry/<stage>/<NAME>)",
  );
  withExamples(secrets, [
    "npx tapestry secrets list --stage prod",
    'printf %s "$DBT_CLOUD_TOKEN" | npx tapestry secrets set DBT_CLOUD_TOKEN --stage prod',
  ]);

  /** Problems with the command line, the config or the input, found before AWS is called. */
  const usageErrors = new WeakSet<TapestryError>();

  /** Runs a subcommand: usage problems exit 2, failures talking to AWS exit 1. */
  const run = async (work: () => Promise<number>): Promise<void> => {
    try {
      setExitCode(await work());
    } catch (error) {
      if (!(error instanceof TapestryError)) throw error;
      deps.err(error.message);
      setExitCode(usageErrors.has(error) ? USAGE : FAILED);
    }
  };

  /** A step checked or read before any AWS call: the TapestryError it throws is a usage problem. */
  const usage = async <T>(step: () => T | Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      if (error instanceof TapestryError) usageErrors.add(error);
      throw error;
    }
  };

  /** The store, with the region resolved up front so a missing one is a usage problem, not an AWS error. */
  const openStore = async (options: CommonOptions) => {
    const client = deps.createClient({ region: options.region });
    let region: string;
    try {
      region = await client.config.region();
    } catch (error) {
      client.destroy();
      const problem = new UsageError(
        "no AWS region: pass --region <region>, or set AWS_REGION (or a region in your AWS profile)",
        { cause: error },
      );
      usageErrors.add(problem);
      throw problem;
    }
    const { SsmSecretStore } = await awsAdapters();
    return { store: new SsmSecretStore({ client, stage: options.stage }), client, region };
  };

  const common = (command: Command): Command =>
    command
      .requiredOption("--stage <stage>", "the SST stage the secrets belong to, e.g. prod")
      .option("--region <region>", "AWS region (default: AWS_REGION or your AWS profile's region)")
      .option("--config <file>", "the pipelines and tools", "tapestry.config.ts");

  common(
    secrets
      .command("set")
      .description(
        "store a secret's value for a stage, replacing the current one (SSM SecureString); the value comes from a hidden prompt or stdin, never an argument",
      )
      .argument("<NAME>", "the secret's name as the config references it, e.g. DBT_CLOUD_TOKEN"),
  )
    .addHelpText(
      "after",
      `
The value is never taken from the command line (it would stay in the shell history and show in
the process list). On a terminal it is asked for with hidden input; otherwise it is read from
stdin, and one trailing newline is dropped. Deployed functions see a new value within 5 minutes
(their cache).

Examples:
  printf %s "$TOKEN" | tapestry secrets set DBT_CLOUD_TOKEN --stage prod
  npx tapestry secrets set AIRBYTE_CLIENT_SECRET --stage prod     # asks, hidden`,
    )
    // Extra arguments and unknown options are refused below without being echoed: one may be the value.
    .allowExcessArguments(true)
    .allowUnknownOption(true)
    .action((name: string, options: CommonOptions, command: Command) =>
      run(async () => {
        if (command.args.length !== 1 || name.startsWith("-")) {
          await usage(() => {
            throw new UsageError(
              `tapestry secrets set takes one argument, the secret's NAME, and the options --stage, --region and --config (the rest is not repeated here, in case it is a value). The value is never an argument: pipe it in, e.g. printf %s "$TOKEN" | tapestry secrets set DBT_CLOUD_TOKEN --stage ${options.stage}, or run in a terminal to be asked for it`,
            );
          });
        }
        const parameter = await usage(() => secretParameterName(options.stage, name));
        const config = await usage(() => deps.loadConfig(options.config));
        const references = referencedSecrets(config);
        if (!references.has(name)) {
          const known = [...references.keys()];
          deps.err(
            `warning: ${options.config} does not reference a secret named ${name}${
              known.length ? ` (it references ${known.join(", ")})` : ""
            }; storing it anyway`,
          );
        }
        const value = await usage(() => readValue(name, options.stage, deps.stdin, deps.prompt));
        if (value !== value.trim()) {
          deps.err(`warning: the value of ${name} starts or ends with whitespace; it is stored as given`);
        }
        const { store, client, region } = await openStore(options);
        try {
          const { version } = await store.set(name, value);
          deps.out(
            `set ${name} for stage ${options.stage}: ${parameter} in ${region} (SecureString${
              version === undefined ? "" : `, version ${version}`
            })`,
          );
          return 0;
        } finally {
          client.destroy();
        }
      }),
    );

  common(
    secrets
      .command("list")
      .description(
        "show each secret the config references, whether it is set for the stage and when it last changed (never values); exits 1 if one is missing",
      ),
  )
    .option(
      "--json",
      "print { stage, region, path, secrets: [...] } on stdout (README: 'The tapestry CLI')",
      false,
    )
    .addHelpText(
      "after",
      "\nExamples:\n  npx tapestry secrets list --stage prod --region eu-central-1\n  npx tapestry secrets list --stage prod --json",
    )
    .action((options: CommonOptions & { json: boolean }) =>
      run(async () => {
        // checks the stage (the name is a placeholder that passes the rule)
        await usage(() => secretParameterName(options.stage, "NAME"));
        const config = await usage(() => deps.loadConfig(options.config));
        const references = referencedSecrets(config);
        const { store, client, region } = await openStore(options);
        let listings: SecretListing[];
        try {
          listings = await store.list();
        } finally {
          client.destroy();
        }
        const found = new Map(listings.map((l) => [l.name, l]));
        // with --json, stdout carries the one document; the text goes nowhere, warnings to stderr
        const say = options.json ? () => undefined : deps.out;
        const listed: SecretsListEntry[] = [];
        say(`Secrets of stage ${options.stage} (${store.path} in ${region}):`);

        const rows: string[][] = [["TOOL", "SECRET", "STATUS", "LAST CHANGED"]];
        const missing = new Set<string>();
        const notMadeYet = new Set<string>();
        for (const [name, fields] of references) {
          const listing = found.get(name);
          const made = fields.every((f) => f.madeByBootstrap);
          if (!listing) (made ? notMadeYet : missing).add(name);
          const status = listing ? "set" : made ? "not made yet" : "MISSING";
          const tools = [...new Set(fields.map((f) => f.tool))];
          for (const tool of tools) {
            rows.push([tool, name, status, listing ? changed(listing) : "-"]);
          }
          listed.push(entry(name, tools, listing ? "set" : made ? "not-made-yet" : "missing", listing));
        }
        const extra = listings.filter((l) => !references.has(l.name));
        for (const listing of extra) {
          rows.push(["(not in config)", listing.name, "set", changed(listing)]);
          listed.push(entry(listing.name, [], "not-referenced", listing));
        }
        for (const line of table(rows)) say(`  ${line}`);
        if (options.json) {
          const report: SecretsListReport = {
            stage: options.stage,
            region,
            path: store.path,
            secrets: listed,
          };
          deps.out(JSON.stringify(report, null, 2));
        }

        for (const listing of listings) {
          if (listing.type !== undefined && listing.type !== "SecureString") {
            deps.err(
              `warning: ${store.path}${listing.name} is a ${listing.type} parameter, not encrypted: set it again with \`tapestry secrets set ${listing.name} --stage ${options.stage}\``,
            );
          }
        }
        if (extra.length) {
          say(
            `${extra.length} parameter${extra.length === 1 ? "" : "s"} under ${store.path} ${
              extra.length === 1 ? "is" : "are"
            } not referenced by ${options.config}; remove with \`tapestry secrets remove <NAME> --stage ${options.stage}\``,
          );
        }
        if (notMadeYet.size) {
          say(
            `${notMadeYet.size} service user key${notMadeYet.size === 1 ? " is" : "s are"} made by \`tapestry warehouse bootstrap --stage ${options.stage}\`, not set by hand`,
          );
        }
        if (missing.size) {
          deps.err(
            `${missing.size} secret${missing.size === 1 ? "" : "s"} the config references ${
              missing.size === 1 ? "is" : "are"
            } not set for stage ${options.stage}; set ${missing.size === 1 ? "it" : "them"} with:`,
          );
          for (const name of missing) deps.err(`  tapestry secrets set ${name} --stage ${options.stage}`);
          return FAILED;
        }
        const toSet = references.size - notMadeYet.size;
        say(
          toSet ? `All ${toSet} secrets the config references are set.` : "The config references no secrets.",
        );
        return 0;
      }),
    );

  common(
    secrets
      .command("remove")
      .description("delete a secret of a stage")
      .argument("<NAME>", "the secret's name, e.g. DBT_CLOUD_TOKEN"),
  )
    .addHelpText("after", "\nExample:\n  npx tapestry secrets remove OLD_MAILCHIMP_KEY --stage prod")
    .action((name: string, options: CommonOptions) =>
      run(async () => {
        const parameter = await usage(() => secretParameterName(options.stage, name));
        const config = await usage(() => deps.loadConfig(options.config));
        const { store, client, region } = await openStore(options);
        try {
          await store.remove(name);
        } finally {
          client.destroy();
        }
        deps.out(`removed ${name} of stage ${options.stage}: ${parameter} in ${region}`);
        const fields = referencedSecrets(config).get(name);
        if (fields) {
          deps.err(
            `warning: ${options.config} still references ${name} (${fields
              .map((f) => f.field)
              .join(
                ", ",
              )}): runs on stage ${options.stage} fail with SecretNotSetError until it is set again`,
          );
        }
        return 0;
      }),
    );

  return applyCliPolicy(secrets, deps);
}

/** The secrets the config's tools reference, by name, in the config's order, with where each is referenced. */
function referencedSecrets(config: TapestryConfig): Map<string, Reference[]> {
  const references = new Map<string, Reference[]>();
  const add = (reference: Reference) =>
    references.set(reference.name, [...(references.get(reference.name) ?? []), reference]);
  for (const reference of secretReferences(config.tools)) add(reference);
  // the warehouse's: the admin's secrets, and the service users' keys (made by the bootstrap)
  if (config.warehouse)
    for (const reference of warehouseSecretReferences(config.warehouse))
      add({ ...reference, tool: "warehouse" });
  // the provisioning sections': the sources' secret settings, Grouparoo's Mailchimp key
  for (const reference of provisioningSecretReferences(config)) add(reference);
  return references;
}

/** A tool's secret, or the warehouse's (whose service users' keys the bootstrap makes). */
type Reference = Omit<SecretReference, "tool"> & {
  readonly tool: string;
  readonly madeByBootstrap?: boolean;
};

/** The value to store: asked for with hidden input on a terminal, else all of stdin less one trailing newline. */
async function readValue(
  name: string,
  stage: string,
  input: NodeJS.ReadStream,
  prompt: NodeJS.WriteStream,
): Promise<string> {
  const { InvalidSecretValueError } = await awsAdapters();
  if (input.isTTY) return promptingSecretReader(input, prompt)(name);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer);
    size += bytes.length;
    if (size > MAX_STDIN_BYTES) {
      throw new InvalidSecretValueError(
        `the value of ${name} on stdin is longer than ${MAX_STDIN_BYTES} bytes`,
      );
    }
    chunks.push(bytes);
  }
  const value = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (value === "") {
    throw new InvalidSecretValueError(
      `no value for ${name} on stdin: pipe it in, e.g. printf %s "$TOKEN" | tapestry secrets set ${name} --stage ${stage}, or run the command in a terminal to be asked for it`,
    );
  }
  return value;
}

/** One secret in `tapestry secrets list --json`: never its value. */
export interface SecretsListEntry {
  readonly name: string;
  /** the tools (or `warehouse`) whose config references it; empty when nothing does */
  readonly tools: readonly string[];
  /** missing: referenced, not set; not-made-yet: a service user's key the bootstrap makes */
  readonly status: "set" | "missing" | "not-made-yet" | "not-referenced";
  readonly lastModified?: string;
  readonly version?: number;
  /** SecureString, or the type of a parameter made by hand */
  readonly type?: string;
}

/** The shape `tapestry secrets list --json` prints (documented in the README). */
export interface SecretsListReport {
  readonly stage: string;
  readonly region: string;
  /** the SSM path, e.g. /tapestry/prod/ */
  readonly path: string;
  readonly secrets: readonly SecretsListEntry[];
}

function entry(
  name: string,
  tools: readonly string[],
  status: SecretsListEntry["status"],
  listing: SecretListing | undefined,
): SecretsListEntry {
  return {
    name,
    tools,
    status,
    ...(listing?.lastModified === undefined ? {} : { lastModified: listing.lastModified }),
    ...(listing?.version === undefined ? {} : { version: listing.version }),
    ...(listing?.type === undefined ? {} : { type: listing.type }),
  };
}

function changed(listing: SecretListing): string {
  const when = listing.lastModified ?? "unknown";
  return listing.version === undefined ? when : `${when} (version ${listing.version})`;
}
