import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { GrouparooConfigSink } from "@tapestry/core/provisioning";

/**
 * Grouparoo's config files, embedded: a folder of the state directory (`.tapestry/grouparoo/`),
 * holding `config/...` and `environment.json` as `grouparoo apply` would read them.
 */
export function directoryGrouparooSink(root: string): GrouparooConfigSink {
  const at = (path: string) => {
    const full = join(root, path);
    if (relative(root, full).startsWith("..")) throw new Error(`${path} is outside ${root}`);
    return full;
  };
  return {
    list: async () => {
      const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join("/"))
        .sort();
    },
    read: async (path) => readFile(at(path), "utf8").catch(() => undefined),
    write: async (path, content) => {
      await mkdir(dirname(at(path)), { recursive: true });
      await writeFile(at(path), content);
    },
    remove: async (path) => rm(at(path), { force: true }),
  };
}
