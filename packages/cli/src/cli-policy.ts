import { readFileSync } from "node:fs";
import { type Command, CommanderError } from "commander";
import { z } from "zod";

/**
 * The one policy every tapestry command follows: its exit codes, where its output goes, whether it
 * colours it, and how commander's own usage errors end.
 */

/** 0 success; 1 the work failed (a run failed, AWS or the API said no); 2 a usage or config error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The exit codes as `--help` shows them (the README says the same). */
export const EXIT_CODES_HELP = `
Exit codes (every command):
  0  success
  1  failure: the work did not succeed (a run failed, a request was refused, AWS answered an error)
  2  usage or config error: a bad argument or option, an invalid config; nothing was changed`;

/** Where a command writes: results on stdout, messages and progress on stderr. */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** colour the output (a terminal, and NO_COLOR not set) */
  readonly color: boolean;
  /** stdout is a terminal: progress may redraw a line; otherwise every line is plain and final */
  readonly tty: boolean;
  /**
   * A transient status line under the output (a spinner while a command waits), redrawn in place
   * on a terminal, removed with `undefined`; nothing at all when stdout is not a terminal.
   */
  readonly progress: (text: string | undefined) => void;
}

/**
 * Colours follow the NO_COLOR convention (https://no-color.org: any non-empty value turns them
 * off) and picocolors' FORCE_COLOR; otherwise only a terminal (not TERM=dumb) gets them.
 */
export function colorEnabled(env: Readonly<Record<string, string | undefined>>, isTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return isTTY && env.TERM !== "dumb";
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return streamIo(process.stdout, process.stderr, process.env);
}

/** What streamIo writes to: process.stdout and process.stderr, or a test's. */
export interface OutputStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
  on(event: "error", listener: (error: NodeJS.ErrnoException) => void): unknown;
}

/**
 * Output on two streams. A reader that goes away (`tapestry logs <runId> | head`) or a terminal
 * that closes ends stdout: the rest is dropped instead of failing with EPIPE or EIO. On a terminal, the progress line stays under
 * the output: it is wiped before any other line is written, and redrawn by the next progress.
 */
export function streamIo(
  stdout: OutputStream,
  stderr: OutputStream,
  env: Readonly<Record<string, string | undefined>>,
): CliIo {
  const tty = Boolean(stdout.isTTY);
  let stdoutClosed = false;
  // EPIPE (the reader left) or EIO (the terminal closed, SIGHUP): nothing more can be shown, and a
  // throw here would crash a `tapestry local` in the middle of its clean stop
  stdout.on("error", () => {
    stdoutClosed = true;
  });
  let showing = false;
  const clear = () => {
    if (showing && !stdoutClosed) stdout.write("\r\u001b[2K");
    showing = false;
  };
  return {
    out: (line) => {
      clear();
      if (!stdoutClosed) stdout.write(`${line}\n`);
    },
    err: (line) => {
      clear();
      stderr.write(`${line}\n`);
    },
    progress: (text) => {
      if (!tty || stdoutClosed) return;
      clear();
      if (text === undefined) return;
      stdout.write(text);
      showing = true;
    },
    color: colorEnabled(env, tty),
    tty,
  };
}

/**
 * Applies the policy to a command and every command under it: commander's usage errors (an unknown
 * option or command, a missing argument, a bad choice) exit 2 instead of 1; help and --version stay
 * 0; commander writes through `io` (tests capture it).
 */
export function applyCliPolicy(command: Command, io: Pick<CliIo, "out" | "err">): Command {
  command
    .exitOverride((error) => {
      throw error.exitCode === 0 ? error : new CommanderError(EXIT.usage, error.code, error.message);
    })
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, "")),
      writeErr: (text) => io.err(text.replace(/\n$/, "")),
    })
    .showSuggestionAfterError(true);
  for (const sub of command.commands) applyCliPolicy(sub, io);
  return command;
}

/** Adds examples (and the exit codes) under a command's --help. */
export function withExamples(command: Command, examples: readonly string[], note?: string): Command {
  const lines = ["", ...(note ? [note, ""] : []), "Examples:", ...examples.map((e) => `  ${e}`)];
  return command.addHelpText("after", lines.join("\n"));
}

const packageJsonSchema = z.object({ version: z.string().min(1) });

/** The version of packages/cli/package.json, as `tapestry --version` prints it. */
export function cliVersion(): string {
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  return packageJsonSchema.parse(JSON.parse(text)).version;
}

/** Every command of the tree, the root first. */
export function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}
