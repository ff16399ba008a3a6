import { existsSync, mkdirSync, readdirSync, realpathSync, statfsSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UsageError } from "./usage-error.ts";

/** statfs magic numbers of kernel file systems that hold no files of ours (linux/magic.h). */
const SPECIAL_FS: Record<number, string> = {
  0x9fa0: "proc",
  0x62656572: "sysfs",
  0x64626720: "debugfs",
  0x74726163: "tracefs",
  0x73636673: "securityfs",
  0x27e0eb: "cgroup",
  0x63677270: "cgroup2",
  0x1cd1: "devpts",
  0xcafe4a11: "bpf",
  0x6165676c: "pstore",
  0xde5e81e4: "efivarfs",
  0x62656570: "configfs",
  0xf97cff8c: "selinuxfs",
  0x42494e4d: "binfmt_misc",
};

/** Kernel trees whose type statfs may not give away (devtmpfs reports tmpfs); /dev/shm is a real tmpfs. */
const SPECIAL_TREES = ["/proc", "/sys", "/dev"];

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** A folder that holds files the user may want (results of an earlier run): not ours to replace. */
function holdsFiles(dir: string): boolean {
  return readdirSync(dir).length > 0;
}

/**
 * Makes sure results can be written to `dir` before anything is simulated: the folder is created
 * (with its parents), is a folder, is not on a kernel file system (/proc, /sys, ...), and takes a
 * file. A folder that already holds files is refused unless `force` (overwrite) or `resume`
 * (continue what it holds). Throws UsageError naming the folder and what is wrong.
 */
export function prepareOutDir(dir: string, o: { force?: boolean; resume?: boolean } = {}): void {
  const abs = resolve(dir);
  const existing = nearestExisting(abs);
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // keep the path as given
  }
  const tree = SPECIAL_TREES.find((t) => (real === t || real.startsWith(`${t}/`)) && !real.startsWith("/dev/shm"));
  if (tree !== undefined) throw new UsageError(`--out ${dir}: ${tree} is a kernel file system, not a place for results`);
  try {
    const type = SPECIAL_FS[statfsSync(existing).type];
    if (type !== undefined) throw new UsageError(`--out ${dir}: ${existing} is on ${type}, a kernel file system, not a place for results`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }
  if (!statSync(existing).isDirectory()) {
    throw new UsageError(`--out ${dir}: ${existing === abs ? "it" : existing} is a file, not a folder`);
  }
  if (existing === abs && !o.force && !o.resume && holdsFiles(abs)) {
    throw new UsageError(`--out ${dir} already holds files (an earlier run's results?): give --force to overwrite them, or another --out`);
  }
  try {
    mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot create the folder (${code(e)})`);
  }
  const probe = resolve(abs, `.refsim-write-check-${process.pid}`);
  try {
    writeFileSync(probe, "");
    unlinkSync(probe);
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot write there (${code(e)})`);
  }
}

/** `base`, or `base-2`, `base-3`, ... : the first that does not exist (default folders never collide). */
export function freshDir(base: string): string {
  if (!existsSync(base)) return base;
  for (let i = 2; ; i++) if (!existsSync(`${base}-${i}`)) return `${base}-${i}`;
}
