import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTlsFiles, tlsFilesFromEnv } from "../../worker/transport/tls-env.ts";

describe("TLS settings from the environment", () => {
  it("are absent unless a <SERVICE>_TLS_* variable is set", () => {
    expect(tlsFilesFromEnv("NATS", {})).toBeUndefined();
    expect(tlsFilesFromEnv("REDIS", { NATS_TLS_CA: "/ca.pem" })).toBeUndefined();
  });

  it("name the CA, certificate and key files of each service", () => {
    expect(tlsFilesFromEnv("NATS", { NATS_TLS_CA: "/etc/ca.pem" })).toEqual({ ca: "/etc/ca.pem" });
    expect(tlsFilesFromEnv("REDIS", { REDIS_TLS_CERT: "/c.pem", REDIS_TLS_KEY: "/k.pem" })).toEqual({ cert: "/c.pem", key: "/k.pem" });
  });

  it("refuse a certificate without its key, naming both variables", () => {
    expect(() => tlsFilesFromEnv("REDIS", { REDIS_TLS_CERT: "/c.pem" })).toThrow(/REDIS_TLS_CERT and REDIS_TLS_KEY go together/);
  });

  it("are read as files, and a missing file is named with the reason, never its contents", () => {
    const dir = mkdtempSync(join(tmpdir(), "refsim-tls-"));
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    expect(readTlsFiles({ ca: join(dir, "ca.pem") }).ca?.toString()).toContain("BEGIN CERTIFICATE");
    expect(() => readTlsFiles({ ca: join(dir, "missing.pem") })).toThrow(/cannot read the TLS CA file .*missing\.pem: ENOENT/);
  });
});
