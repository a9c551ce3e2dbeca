import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { promptingSecretReader } from "../../../packages/cli/src/prompt-secrets";

function terminal(isTTY: boolean) {
  const input = Object.assign(new PassThrough(), {
    isTTY,
    setRawMode: () => input,
  }) as unknown as NodeJS.ReadStream;
  const written: string[] = [];
  const output = { write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  return { input, output, written };
}

describe("secrets of real tools, asked on the terminal", () => {
  it("without a terminal, fails naming the secret and the fix", async () => {
    const t = terminal(false);
    await expect(promptingSecretReader(t.input, t.output)("DBT_CLOUD_TOKEN")).rejects.toThrow(
      /secret DBT_CLOUD_TOKEN is needed for a tool run with --real, and there is no terminal/,
    );
  });

  it("asks once per name, keeps the answer in memory, and never echoes it", async () => {
    const t = terminal(true);
    const read = promptingSecretReader(t.input, t.output);
    const first = read("GROUPAROO_API_KEY");
    setTimeout(() => (t.input as unknown as PassThrough).write("s3cr3t-value\n"), 10);
    expect(await first).toBe("s3cr3t-value");
    expect(await read("GROUPAROO_API_KEY")).toBe("s3cr3t-value");
    expect(t.written.join("")).toBe("GROUPAROO_API_KEY (input hidden): \n");
  });
});
