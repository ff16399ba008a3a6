import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (entry.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

let cached: string | null = null;

/**
 * The package version plus a digest of the model's source (shared/): two runs with the same
 * code version and spec give the same results, so it can name results and jobs.
 */
export function codeVersion(): string {
  if (cached !== null) return cached;
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const hash = createHash("sha256");
  for (const file of sourceFiles(join(ROOT, "shared")).sort()) {
    hash.update(relative(ROOT, file));
    hash.update("\0");
    hash.update(readFileSync(file));
  }
  cached = `${pkg.version}+${hash.digest("hex").slice(0, 12)}`;
  return cached;
}
