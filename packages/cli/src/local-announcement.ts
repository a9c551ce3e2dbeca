import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/**
 * How a running `tapestry local` tells the other commands where its status API is: the file
 * `<state-dir>/local.json`, written once the API listens and removed when it stops. A file left by
 * a process that is gone (kill -9) is recognised by its pid and ignored.
 */
export const ANNOUNCEMENT_FILE = "local.json";

const announcementSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  pid: z.number().int().positive(),
  startedAt: z.string(),
});

export type LocalAnnouncement = z.infer<typeof announcementSchema>;

export function announcementPath(stateDir: string): string {
  return join(stateDir, ANNOUNCEMENT_FILE);
}

/** Writes the announcement (whole or not at all: a reader never sees half a file). Answers a remover. */
export function announceLocal(stateDir: string, announcement: LocalAnnouncement): () => void {
  const path = announcementPath(stateDir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(announcement, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
  return () => {
    // only our own: another `tapestry local` may have taken the folder over since
    if (readAnnouncement(stateDir)?.pid === announcement.pid) rmSync(path, { force: true });
  };
}

/** The announcement in the folder, whoever wrote it; undefined when there is none or it is not one. */
export function readAnnouncement(stateDir: string): LocalAnnouncement | undefined {
  let text: string;
  try {
    text = readFileSync(announcementPath(stateDir), "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed = announcementSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The announcement of a `tapestry local` that is still running, if there is one. */
export function findRunningLocal(
  stateDir: string,
  isAlive: (pid: number) => boolean = processIsAlive,
): LocalAnnouncement | undefined {
  const announcement = readAnnouncement(stateDir);
  return announcement && isAlive(announcement.pid) ? announcement : undefined;
}

/** Signal 0 tests for a process without touching it; EPERM means it exists under another user. */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
