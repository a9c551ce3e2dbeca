import type { Command } from "commander";
import type { CliIo } from "./cli-policy";
import { createDeployCommand, type DeployDependencies } from "./deploy-command";
import { createDoctorCommand, type DoctorDependencies } from "./doctor-command";
import { createInitCommand } from "./init-command";
import { createKickstartCommand, type KickstartCommandDependencies } from "./kickstart-command";
import type { Prompter } from "./prompts";

/** What tests replace in the set-up commands: the questions, the variables, AWS, sst. */
export interface SetupDependencies {
  /** asks questions; undefined when stdin is not a terminal */
  readonly prompter: Prompter | undefined;
  /** the variables secrets are read from (TAPESTRY_SECRET_<NAME>) */
  readonly environment: Readonly<Record<string, string | undefined>>;
  readonly kickstart?: Pick<KickstartCommandDependencies, "createClient">;
  readonly doctor?: DoctorDependencies;
  readonly deploy?: Pick<DeployDependencies, "sst" | "environment">;
}

/** `tapestry init`, `kickstart`, `doctor` and `deploy`: from an empty folder to a deployed stage. */
export function createSetupCommands(
  deps: SetupDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command[] {
  const { prompter, environment } = deps;
  return [
    createInitCommand(io, setExitCode),
    createKickstartCommand({ prompter, environment, ...deps.kickstart }, io, setExitCode),
    createDoctorCommand(deps.doctor ?? {}, io, setExitCode),
    createDeployCommand({ prompter, ...deps.doctor, ...deps.deploy }, io, setExitCode),
  ];
}
