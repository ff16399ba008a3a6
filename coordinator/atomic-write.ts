import { renameSync, unlinkSync, writeFileSync } from "node:fs";

const WHY: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOTDIR: "a part of the path is a file",
  ENOENT: "the folder is gone",
  EIO: "input/output error",
};

/** A results file that could not be written: names the file and the reason (ENOSPC, EACCES...). */
export class OutputError extends Error {
  override readonly name = "OutputError";
  constructor(
    readonly path: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(`cannot write ${path}: ${WHY[code] ?? "write failed"} (${code})`, options);
  }
}

/**
 * Writes a file whole or not at all: to a temporary name beside it, then renamed over it, so a
 * full disk or a kill mid-write leaves the previous file (or none), never a truncated one.
 * Throws OutputError naming the file.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // it was never created
    }
    const code = (e as NodeJS.ErrnoException).code ?? "EIO";
    throw new OutputError(path, code, { cause: e });
  }
}
