/**
 * The `tapestry` command as a user runs it: a child process on the project's Node 24 (the `node`
 * package's binary) running packages/cli's bin, without the developer's own TAPESTRY_* settings.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "@tapestry/local";

export const NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
export const CLI = join(REPO_ROOT, "packages", "cli", "bin", "tapestry.js");

/** This process's environment and `extra`, less what would choose another scenario or port for the child. */
export function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.TAPESTRY_SANDBOX_SCENARIO;
  delete env.TAPESTRY_PORT;
  return env;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout's lines */
  readonly lines: readonly string[];
}

/**
 * Runs `tapestry local --once --port 0 <args>` in `cwd` (the repository's root unless given). A
 * process still there `limitMs` after its start is killed, and the promise rejects with what it
 * printed: `--once` must end on its own.
 */
export function runTapestryOnce(
  args: readonly string[],
  options: { readonly limitMs: number; readonly cwd?: string },
): Promise<CliResult> {
  const argv = [CLI, "local", "--once", "--port", "0", ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, argv, {
      cwd: options.cwd ?? REPO_ROOT,
      env: childEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), options.limitMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (signal) {
        const command = ["tapestry", ...argv.slice(1)].join(" ");
        reject(new Error(`${command} was killed (${signal})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve({ code, stdout, stderr, lines: stdout.split("\n") });
    });
  });
}
