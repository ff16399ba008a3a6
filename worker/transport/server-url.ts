/** Where a NATS client should connect, with the credentials taken out of the URL. */
export interface NatsServerAddress {
  /** `host:port` of each server, for the client's `servers` option. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** A `tls://` URL asks for TLS even without TLS options. */
  tls: boolean;
  /** The URL with every credential replaced by `***`: the only form fit for logs and errors. */
  redacted: string;
}

const DEFAULT_NATS_PORT = 4222;

/**
 * Replaces the user-info part and any `token`, `pass` or `password` query value of each
 * comma-separated URL with `***`. Works on strings that are not valid URLs too, so an error
 * about a malformed URL cannot leak what it contains.
 */
export function redactUrl(url: string): string {
  return url
    .split(",")
    .map((entry) =>
      (entry.includes("://") ? entry.replace(/:\/\/.*@/, "://***@") : entry.replace(/^.*@/, "***@")).replace(
        /([?&](?:token|pass|password)=)[^&#]*/gi,
        "$1***",
      ),
    )
    .join(",");
}

/**
 * Parses `nats://user:pass@host:4222`, `nats://token@host`, `nats://host?token=T`,
 * `tls://host:4222`, a bare `host:port`, or several of them separated by commas (one cluster).
 * A user without a password is a token, as in the NATS tools. All entries must agree on the
 * credentials they carry. Throws `TypeError` (with the redacted URL) for anything else.
 */
export function parseNatsUrl(url: string): NatsServerAddress {
  const redacted = redactUrl(url);
  const servers: string[] = [];
  let creds: { user?: string; pass?: string; token?: string } | undefined;
  let tls = false;
  for (const raw of url.split(",").map((s) => s.trim())) {
    let u: URL;
    try {
      u = new URL(raw.includes("://") ? raw : `nats://${raw}`);
    } catch {
      throw new TypeError(`not a NATS server URL: ${redactUrl(raw)}`);
    }
    if (u.protocol === "tls:") tls = true;
    else if (u.protocol !== "nats:") throw new TypeError(`unsupported scheme ${u.protocol} in ${redactUrl(raw)} (use nats:// or tls://)`);
    if (u.hostname === "") throw new TypeError(`no host in ${redactUrl(raw)}`);
    servers.push(`${u.hostname}:${u.port === "" ? DEFAULT_NATS_PORT : u.port}`);

    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    const token = u.searchParams.get("token") ?? (user !== "" && pass === "" ? user : undefined);
    const these = token !== undefined ? { token } : user !== "" ? { user, pass } : undefined;
    if (these === undefined) continue;
    if (creds !== undefined && JSON.stringify(creds) !== JSON.stringify(these)) {
      throw new TypeError(`the servers in ${redacted} carry different credentials`);
    }
    creds = these;
  }
  return { servers, ...creds, tls, redacted };
}
