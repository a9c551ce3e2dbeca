import { Command, CommanderError } from "commander";

/** Runs the tapestry command; answers the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("tapestry")
    .description(
      "Control plane for warehouse-centric user-data pipelines (Airbyte -> dbt Cloud -> Grouparoo)",
    )
    .exitOverride();

  program
    .command("local")
    .description("run the embedded control plane on this machine, against sandboxes of the tools")
    .action(() => {
      process.stdout.write(
        "tapestry local: the embedded control plane is not built yet (it arrives with the pipeline-run state machine).\n" +
          "Meanwhile `npm test` exercises the config, the connectors and the tool sandboxes.\n",
      );
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}
