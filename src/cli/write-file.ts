import { rename, writeFile } from "node:fs/promises";

/** Written beside the target and renamed, so a reader never sees half a file. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { flush: true });
  await rename(temporary, path);
}
