import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export type StubAnswer = (call: StubCall, res: ServerResponse) => void;

/**
 * A scripted HTTP server on 127.0.0.1 for unit tests of the HTTP client: each request is
 * answered by the next scripted answer (the last one repeats), and every request is recorded.
 */
export async function startStubServer(answers: StubAnswer[]): Promise<{
  url: string;
  calls: StubCall[];
  close: () => Promise<void>;
}> {
  const calls: StubCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const call = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      calls.push(call);
      const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
      answer?.(call, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): StubAnswer =>
  (_call, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

export const text =
  (status: number, body: string): StubAnswer =>
  (_call, res) => {
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(body);
  };

/** Destroys the socket without an answer: what a client sees as a dropped connection. */
export const drop: StubAnswer = (_call, res) => {
  res.socket?.destroy();
};

/** Never answers (until the server closes): what a client sees as a hung request. */
export const hang: StubAnswer = () => {};
