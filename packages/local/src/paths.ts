import { fileURLToPath } from "node:url";

/** The repository this package lives in: where state-machines/ and templates/ are. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
