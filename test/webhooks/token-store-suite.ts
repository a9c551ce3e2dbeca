import type { JobKey, TaskTokenStore, TokenRegistration } from "@tapestry/core/webhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

/** A store under test, and how to close it. */
export type OpenStore = () => Promise<TaskTokenStore & { close(): void | Promise<void> }>;

const JOB: JobKey = { tool: "dbt-cloud", externalId: "70000042" };
const OTHER: JobKey = { tool: "airbyte", externalId: "70000042" };
const T0 = "2026-11-21T11:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

function registration(token: string, seconds = 0, waitSeconds = 300): TokenRegistration {
  return { token, input: `{"step":"${token}"}`, now: at(seconds), expiresAt: at(seconds + waitSeconds) };
}

/**
 * What every TaskTokenStore adapter must do (SQLite embedded, DynamoDB on AWS): the races between
 * a webhook and the step that waits for it are decided by these answers.
 */
export function describeTaskTokenStoreContract(name: string, open: OpenStore): void {
  describe(`${name}: the task-token store contract`, () => {
    let store: Awaited<ReturnType<OpenStore>>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it("keeps a job's token, answering the record as it was before each registration", async () => {
      expect(await store.register(JOB, registration("token-1"))).toBeUndefined();
      const before = await store.register(JOB, registration("token-2", 300));
      expect(before).toEqual({
        token: "token-1",
        input: '{"step":"token-1"}',
        registeredAt: at(0),
        expiresAt: at(300),
        deliveries: 0,
      });
      expect(await store.recordDelivery(JOB, at(310))).toEqual({
        token: "token-2",
        input: '{"step":"token-2"}',
        registeredAt: at(300),
        expiresAt: at(600),
        deliveredAt: at(310),
        deliveries: 1,
      });
    });

    it("keeps a webhook for a job no step waits on, and shows it to the registration that comes later", async () => {
      expect(await store.recordDelivery(JOB, at(1))).toEqual({ deliveredAt: at(1), deliveries: 1 });
      expect(await store.recordDelivery(JOB, at(2))).toEqual({ deliveredAt: at(2), deliveries: 2 });
      expect(await store.register(JOB, registration("token-1", 3))).toEqual({
        deliveredAt: at(2),
        deliveries: 2,
      });
      // the same id at another tool is another job
      expect(await store.register(OTHER, registration("token-x", 3))).toBeUndefined();
    });

    it("lets one completer claim a token at a time, until it gives the claim back or it expires", async () => {
      await store.register(JOB, registration("token-1"));
      expect(await store.claim(JOB, "token-1", at(1), at(11))).toBe(true);
      expect(await store.claim(JOB, "token-1", at(2), at(12))).toBe(false);
      await store.release(JOB, "token-1");
      expect(await store.claim(JOB, "token-1", at(3), at(13))).toBe(true);
      // a completer that died: its claim lapses
      expect(await store.claim(JOB, "token-1", at(14), at(24))).toBe(true);
    });

    it("never lets a token be claimed that is not the job's, or that was completed", async () => {
      expect(await store.claim(JOB, "token-1", at(1), at(11))).toBe(false);
      await store.recordDelivery(JOB, at(1));
      expect(await store.claim(JOB, "token-1", at(1), at(11))).toBe(false);
      await store.register(JOB, registration("token-1"));
      expect(await store.claim(JOB, "token-0", at(1), at(11))).toBe(false);
      expect(await store.claim(JOB, "token-1", at(1), at(11))).toBe(true);
      await store.complete(JOB, "token-1");
      expect(await store.claim(JOB, "token-1", at(100), at(110))).toBe(false);
      const record = await store.recordDelivery(JOB, at(120));
      expect(record).toMatchObject({ token: "token-1", doneToken: "token-1", deliveries: 2 });
      expect(record.claimToken).toBeUndefined();
      // the step waits again (a new token): that one may be claimed
      await store.register(JOB, registration("token-2", 200));
      expect(await store.claim(JOB, "token-2", at(201), at(211))).toBe(true);
    });

    it("gives back only the claim it holds", async () => {
      await store.register(JOB, registration("token-1"));
      expect(await store.claim(JOB, "token-1", at(1), at(11))).toBe(true);
      await store.release(JOB, "token-0");
      expect(await store.claim(JOB, "token-1", at(2), at(12))).toBe(false);
      await store.release(OTHER, "token-1");
      expect(await store.claim(JOB, "token-1", at(2), at(12))).toBe(false);
    });
  });
}
