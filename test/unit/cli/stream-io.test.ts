import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { streamIo } from "../../../packages/cli/src/cli-policy";

/** A stream that keeps what is written to it, a terminal or a pipe. */
function stream(isTTY: boolean) {
  const written: string[] = [];
  const emitter = new EventEmitter();
  return {
    isTTY,
    written,
    text: () => written.join(""),
    write: (text: string) => written.push(text),
    on: (event: "error", listener: (error: NodeJS.ErrnoException) => void) => emitter.on(event, listener),
    fail: (code: string) => emitter.emit("error", Object.assign(new Error(code), { code })),
  };
}

describe("the CLI's output streams", () => {
  it("on a terminal, the progress line is redrawn in place and wiped before any other line", () => {
    const stdout = stream(true);
    const stderr = stream(true);
    const io = streamIo(stdout, stderr, {});
    io.progress("⠋ running: 0 steps done");
    io.progress("⠙ running: 1 step done");
    io.out("12:00:01 rain-shield-audience   ✓ ingest/zoom-webinar-registrants airbyte 40 rows, 1.1 s");
    io.progress("⠹ running: 2 steps done");
    io.progress(undefined);
    expect(stdout.text()).toBe(
      "⠋ running: 0 steps done\r\u001b[2K⠙ running: 1 step done\r\u001b[2K12:00:01 rain-shield-audience   ✓ ingest/zoom-webinar-registrants airbyte 40 rows, 1.1 s\n⠹ running: 2 steps done\r\u001b[2K",
    );
    expect(io.tty).toBe(true);
  });

  it("not on a terminal, plain lines only: no progress line, no carriage return, no escape code", () => {
    const stdout = stream(false);
    const io = streamIo(stdout, stream(false), { FORCE_COLOR: "" });
    io.progress("⠋ running: 0 steps done");
    io.out("a line");
    io.progress(undefined);
    expect(stdout.text()).toBe("a line\n");
    expect(io.color).toBe(false);
  });

  it.each(["EPIPE", "EIO"])(
    "a reader that went away (| head) or a closed terminal (%s): the rest is dropped, nothing thrown",
    (code) => {
      const stdout = stream(true);
      const io = streamIo(stdout, stream(false), {});
      io.out("first");
      expect(() => stdout.fail(code)).not.toThrow();
      io.progress("⠋ running: 0 steps done");
      io.out("second");
      expect(stdout.text()).toBe("first\n");
    },
  );
});
