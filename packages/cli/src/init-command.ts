import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { Command, Option } from "commander";
import { type CliIo, EXIT, withExamples } from "./cli-policy";
import {
  BLANK_ABOUT,
  blankConfig,
  configSource,
  KICKSTART_ABOUT,
  KICKSTART_DEFAULTS,
  kickstartConfig,
} from "./scaffold/templates";
import { UsageError } from "./secrets-command";

export const TEMPLATES = ["kickstart", "blank"] as const;
export type Template = (typeof TEMPLATES)[number];

/** The repository's docs/scenarios, where the scenario examples are copied from. */
const SCENARIOS = new URL("../../../docs/scenarios/", import.meta.url);

/** The sandbox scenarios each template gets as examples (they name its steps). */
const SCENARIO_EXAMPLES: Readonly<Record<Template, readonly string[]>> = {
  kickstart: ["zero-rows.yaml", "dbt-run-failed.yaml", "flaky-day.yaml", "throttled-with-retry-after.yaml"],
  blank: ["dbt-run-failed.yaml"],
};

/** One file of a scaffold: its path in the project and its text. */
export interface ScaffoldFile {
  readonly path: string;
  readonly text: string;
}

/**
 * The files of a new project: the config, a README stub, scenario examples and a .gitignore for
 * the state folder. `config` is the config file's text (kickstart writes its own).
 */
export function scaffoldFiles(template: Template, config?: string): ScaffoldFile[] {
  const text =
    config ??
    (template === "kickstart"
      ? configSource(kickstartConfig(KICKSTART_DEFAULTS), KICKSTART_ABOUT)
      : configSource(blankConfig(), BLANK_ABOUT));
  return [
    { path: "tapestry.config.ts", text },
    { path: "README.md", text: readme(template) },
    {
      path: ".gitignore",
      text: "# tapestry local's state: the ledger, the warehouse, exports\n.tapestry/\n",
    },
    ...SCENARIO_EXAMPLES[template].map((name) => ({
      path: join("scenarios", name),
      text: readFileSync(new URL(name, SCENARIOS), "utf8"),
    })),
  ];
}

/**
 * Writes the files into `dir` (made when missing). Refuses, writing nothing, when one exists and
 * `force` is not set: a UsageError naming each.
 */
export function writeScaffold(dir: string, files: readonly ScaffoldFile[], force: boolean): string[] {
  const root = resolve(dir);
  const existing = files.map((f) => join(root, f.path)).filter((path) => existsSync(path));
  if (existing.length > 0 && !force) {
    throw new UsageError(
      `${existing.length === 1 ? "this file exists" : "these files exist"}: ${existing
        .map(shown)
        .join(", ")}; nothing was written (--force overwrites them)`,
    );
  }
  const written: string[] = [];
  for (const file of files) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.text);
    written.push(path);
  }
  return written;
}

/** `tapestry init [dir] [--template kickstart|blank] [--force]`. */
export function createInitCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  const command = new Command("init")
    .description("scaffold a project: tapestry.config.ts, a README, sandbox scenario examples, a .gitignore")
    .argument("[dir]", "the project's folder (made when missing)", ".")
    .addOption(
      new Option("--template <template>", "kickstart: the Rain Shield pipeline; blank: one dbt Cloud job")
        .choices(TEMPLATES)
        .default("kickstart"),
    )
    .option("--force", "overwrite files that exist", false)
    .action((dir: string, options: { template: Template; force: boolean }) => {
      const written = writeScaffold(dir, scaffoldFiles(options.template), options.force);
      for (const path of written) io.out(`created ${shown(path)}`);
      const config = shown(join(resolve(dir), "tapestry.config.ts"));
      io.out("");
      io.out("Next:");
      io.out(`  npx tapestry validate --config ${config}`);
      io.out(
        `  npx tapestry local --config ${config} --once      # against the sandboxes; --scenario ${shown(join(resolve(dir), "scenarios", SCENARIO_EXAMPLES[options.template][0] ?? ""))}`,
      );
      if (options.template === "kickstart") {
        io.out(
          "  npx tapestry kickstart                 # your own Zoom, Salesforce, Mailchimp and Snowflake settings",
        );
      }
      setExitCode(EXIT.ok);
    });
  return withExamples(
    command,
    [
      "npx tapestry init rain-shield                    # the kickstart pipeline in ./rain-shield",
      "npx tapestry init --template blank               # a minimal config here",
      "npx tapestry init rain-shield --force            # overwrite what is there",
    ],
    "Exit 2, writing nothing, when a file exists (unless --force).",
  );
}

/** A path as the user wrote it: relative to the working folder when inside it, else whole. */
function shown(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside && !inside.startsWith("..") ? inside : path;
}

function readme(template: Template): string {
  return `# A Tapestry project

\`tapestry.config.ts\` declares the tools, the pipelines and their schedules (${
    template === "kickstart" ? "the Rain Shield kickstart" : "a minimal pipeline"
  }). From the Tapestry checkout:

\`\`\`
npx tapestry validate --config <this folder>/tapestry.config.ts
npx tapestry local --config <this folder>/tapestry.config.ts --once
npx tapestry local --config <this folder>/tapestry.config.ts --once --scenario <this folder>/scenarios/${SCENARIO_EXAMPLES[template][0]}
\`\`\`

\`scenarios/\` holds sandbox scenarios (what the stand-in tools do: failures, throttling, zero
rows); see Tapestry's docs/sandbox-scenarios.md. \`.tapestry/\` is the embedded control plane's
state (ledger, warehouse, exports): not committed.

Secrets are referenced by name only: \`npx tapestry secrets set <NAME> --stage <stage>\` for a
deployed stage, \`TAPESTRY_SECRET_<NAME>\` or a hidden prompt for \`tapestry local --real\`.
Before a deploy: \`npx tapestry doctor --stage <stage>\`, then \`npx tapestry deploy --stage <stage>\`.
`;
}
