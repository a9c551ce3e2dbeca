import { spawn } from "node:child_process";
import { REPO_ROOT } from "@tapestry/local";
import type { CliIo } from "../../packages/cli/src/cli-policy";
import { type MainDependencies, main } from "../../packages/cli/src/main";
import { CLI, childEnv, NODE } from "../support/tapestry-cli";

/** What a command printed, line by line, and its exit code. */
export interface Captured {
  readonly code: number;
  readonly out: readonly string[];
  readonly err: readonly string[];
  /** stdout as one text */
  readonly stdout: string;
  readonly stderr: string;
  /** what the progress line showed, in order (`undefined`: wiped) */
  readonly progress: readonly (string | undefined)[];
}

/**
 * Runs `tapestry <argv>` in this process, its output captured as a pipe would see it (no terminal:
 * no colour, plain lines), with the dependencies a test replaces.
 */
export async function tapestry(
  argv: readonly string[],
  dependencies: Omit<MainDependencies, "io"> = {},
  terminal: { readonly tty: boolean } = { tty: false },
): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const progress: (string | undefined)[] = [];
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    // as streamIo does: no progress line where stdout is not a terminal
    progress: (text) => {
      if (terminal.tty) progress.push(text);
    },
    color: false,
    tty: terminal.tty,
  };
  const code = await main(argv, { ...dependencies, io });
  return { code, out, err, stdout: out.join("\n"), stderr: err.join("\n"), progress };
}

/** `FooError:` or `at Object.<anonymous>`: what a user must never see. */
export const CLASS_NAME_OR_STACK = /\b[A-Z][A-Za-z]*Error\b|^\s+at /m;

/**
 * Runs `tapestry <argv>` as a user does: a child process on the project's Node 24, without the
 * developer's TAPESTRY_* settings; killed (and the promise rejected) after `limitMs`.
 */
export function spawnTapestry(
  argv: readonly string[],
  options: {
    readonly cwd?: string;
    readonly env?: Readonly<Record<string, string>>;
    readonly limitMs?: number;
  } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, ...argv], {
      cwd: options.cwd ?? REPO_ROOT,
      env: childEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), options.limitMs ?? 30_000);
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
      if (signal)
        reject(new Error(`tapestry ${argv.join(" ")} was killed (${signal})\n${stdout}\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}
