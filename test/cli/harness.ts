import type { CliIo } from "../../packages/cli/src/cli-policy";
import { type MainDependencies, main } from "../../packages/cli/src/main";

/** What a command printed, line by line, and its exit code. */
export interface Captured {
  readonly code: number;
  readonly out: readonly string[];
  readonly err: readonly string[];
  /** stdout as one text */
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `tapestry <argv>` in this process, its output captured as a pipe would see it (no terminal:
 * no colour, plain lines), with the dependencies a test replaces.
 */
export async function tapestry(
  argv: readonly string[],
  dependencies: Omit<MainDependencies, "io"> = {},
): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    color: false,
    tty: false,
  };
  const code = await main(argv, { ...dependencies, io });
  return { code, out, err, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** `FooError:` or `at Object.<anonymous>`: what a user must never see. */
export const CLASS_NAME_OR_STACK = /\b[A-Z][A-Za-z]*Error\b|^\s+at /m;
