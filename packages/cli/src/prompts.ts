import { TapestryError } from "@tapestry/core/errors";

/**
 * Questions asked on a terminal (`tapestry kickstart`, `tapestry local --real`), through
 * @inquirer/prompts: a secret's input is hidden (nothing of it is echoed, not even its length, and
 * the prompt's "reveal" key is off). Tests give a scripted Prompter instead.
 */
export interface Prompter {
  /** a plain setting; `initial` is taken when the answer is empty */
  text(message: string, options?: TextOptions): Promise<string>;
  /** a secret value: hidden input, never empty */
  secret(message: string): Promise<string>;
  /** yes or no */
  confirm(message: string, initial: boolean): Promise<boolean>;
}

export interface TextOptions {
  readonly initial?: string;
  /** true when the answer is good, else what is wrong with it (asked again) */
  readonly validate?: (value: string) => true | string;
}

/** The user stopped a prompt (Ctrl-C, Ctrl-D): nothing was done with what they had answered. */
export class PromptAbortedError extends TapestryError {
  override readonly name = "PromptAbortedError";
}

/** Prompts on a terminal: `input` is read in raw mode, the questions are written to `output` (stderr: stdout carries results). */
export function terminalPrompter(
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Prompter {
  const context = { input, output, clearPromptOnDone: false };
  const aborted = (error: unknown): never => {
    if (error instanceof Error && (error.name === "ExitPromptError" || error.name === "AbortPromptError")) {
      throw new PromptAbortedError("stopped at a question (Ctrl-C): nothing was written or started");
    }
    throw error;
  };
  // loaded when a question is asked: the other commands start without it
  const prompts = () => import("@inquirer/prompts");
  return {
    text: async (message, options = {}) => {
      const { input: ask } = await prompts();
      return ask(
        {
          message,
          ...(options.initial === undefined ? {} : { default: options.initial }),
          validate: (value: string) => options.validate?.(value.trim()) ?? true,
        },
        context,
      )
        .then((value) => value.trim())
        .catch(aborted);
    },
    secret: async (message) => {
      const { password } = await prompts();
      return password(
        {
          message: `${message} (input hidden)`,
          toggleMask: false,
          validate: (value: string) => (value.trim() === "" ? "it cannot be empty" : true),
        },
        context,
      ).catch(aborted);
    },
    confirm: async (message, initial) => {
      const { confirm } = await prompts();
      return confirm({ message, default: initial }, context).catch(aborted);
    },
  };
}
