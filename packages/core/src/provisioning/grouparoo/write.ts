import type { ToolObjectAction } from "../../events";
import type { GrouparooConfigBundle } from "./files";

/**
 * Where Grouparoo's config files are written: an S3 prefix on AWS (issue 11's Grouparoo tasks copy
 * it before `grouparoo apply`), a folder of the state directory embedded. Paths are relative to the
 * bundle's root (`config/...`, `environment.json`).
 */
export interface GrouparooConfigSink {
  /** every file the sink holds */
  list(): Promise<readonly string[]>;
  /** a file's content, or undefined when it has none */
  read(path: string): Promise<string | undefined>;
  write(path: string, content: string): Promise<void>;
  remove(path: string): Promise<void>;
}

export interface WrittenFile {
  readonly path: string;
  readonly action: ToolObjectAction;
}

/**
 * Writes the bundle: a file with other content is (over)written, an equal one left alone, and a
 * file the sink holds that the bundle no longer has is removed (Grouparoo would otherwise apply a
 * model, source or destination the config dropped). Re-running writes nothing.
 */
export async function writeGrouparooConfig(
  bundle: GrouparooConfigBundle,
  sink: GrouparooConfigSink,
  onFile?: (file: WrittenFile) => Promise<void>,
): Promise<readonly WrittenFile[]> {
  const written: WrittenFile[] = [];
  const done = async (file: WrittenFile) => {
    written.push(file);
    await onFile?.(file);
  };
  const held = new Set(await sink.list());
  for (const file of bundle.files) {
    const current = held.has(file.path) ? await sink.read(file.path) : undefined;
    if (current === file.content) {
      await done({ path: file.path, action: "unchanged" });
      continue;
    }
    await sink.write(file.path, file.content);
    await done({ path: file.path, action: current === undefined ? "created" : "updated" });
  }
  const wanted = new Set(bundle.files.map((file) => file.path));
  for (const path of [...held].sort()) {
    if (wanted.has(path)) continue;
    await sink.remove(path);
    await done({ path, action: "deleted" });
  }
  return written;
}
