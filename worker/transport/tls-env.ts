import { readFileSync } from "node:fs";

/**
 * TLS files named by the environment, for a service (`NATS` or `REDIS`): `<S>_TLS_CA`,
 * `<S>_TLS_CERT` and `<S>_TLS_KEY` are paths to a CA bundle, a client certificate and its key.
 * Undefined when none is set. Only the paths are read here; their contents never reach a log.
 */
export function tlsFilesFromEnv(service: "NATS" | "REDIS", env: Record<string, string | undefined> = process.env): { ca?: string; cert?: string; key?: string } | undefined {
  const files = { ca: env[`${service}_TLS_CA`], cert: env[`${service}_TLS_CERT`], key: env[`${service}_TLS_KEY`] };
  if (files.ca === undefined && files.cert === undefined && files.key === undefined) return undefined;
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new TypeError(`${service}_TLS_CERT and ${service}_TLS_KEY go together: set both or neither`);
  }
  return Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined && v !== "")) as { ca?: string; cert?: string; key?: string };
}

/** The same files' contents, as Node's tls options want them (ioredis). */
export function readTlsFiles(files: { ca?: string; cert?: string; key?: string }): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (what: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new TypeError(`cannot read the TLS ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  const ca = read("CA", files.ca);
  const cert = read("certificate", files.cert);
  const key = read("key", files.key);
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  return out;
}
