import { createInterface } from "node:readline/promises";
import type { SecretReader } from "@tapestry/core/connectors";
import { SecretReadError } from "@tapestry/core/errors";

/**
 * A secret's value asked for on the terminal (`tapestry secrets set` in a terminal), kept in
 * memory only: never in a file, an environment variable or a log. Without a terminal there is no
 * one to ask, and the error says so.
 */
export function promptingSecretReader(input: NodeJS.ReadStream, output: NodeJS.WriteStream): SecretReader {
  const known = new Map<string, Promise<string>>();
  return (name) => {
    let value = known.get(name);
    if (!value) {
      value = ask(name, input, output);
      known.set(name, value);
      value.catch(() => known.delete(name));
    }
    return value;
  };
}

async function ask(name: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  if (!input.isTTY) {
    throw new SecretReadError(
      name,
      `secret ${name} is needed for a tool run with --real, and there is no terminal to ask for it: run tapestry local in a terminal, or drop --real to use the sandbox`,
    );
  }
  output.write(`${name} (input hidden): `);
  // A terminal interface without an output puts the terminal in raw mode and echoes nothing.
  const rl = createInterface({ input, terminal: true });
  try {
    const answer = (await rl.question("")).trim();
    if (!answer) throw new SecretReadError(name, `secret ${name} was left empty`);
    return answer;
  } finally {
    rl.close();
    output.write("\n");
  }
}
