/**
 * The host's shape (sockets, cores, SMT threads, frequency) from the text of /proc/cpuinfo or
 * of `lscpu`. Pure: the caller reads the text (detect.ts); every guess is written in `notes`.
 */
export interface HostShape {
  /** Logical CPUs (hardware threads) listed. */
  logicalCpus: number;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  modelName: string | null;
  /** The frequency the text reports (cpuinfo: the mean of "cpu MHz"; lscpu: "CPU max MHz", else "CPU MHz"), or null. */
  mhz: number | null;
  /** Which text it came from. */
  source: "/proc/cpuinfo" | "lscpu";
  /** What the text did not say and was assumed. */
  notes: string[];
  /** Each logical CPU's socket and core (cpuinfo's processor, physical id, core id); null when the text does not say. */
  places: CpuPlace[] | null;
}

export interface CpuPlace {
  cpu: number;
  socket: number;
  core: number;
}

/** Splits "key<tabs>: value" lines; lscpu indents nested fields, so keys are trimmed. */
function fields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.split("\n")) {
    const at = line.indexOf(":");
    if (at < 0) continue;
    const key = line.slice(0, at).trim();
    if (key !== "" && !out.has(key)) out.set(key, line.slice(at + 1).trim());
  }
  return out;
}

function wholeNumber(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  return Number(text);
}

function positiveNumber(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  return text !== "" && Number.isFinite(n) && n > 0 ? n : null;
}

/** A ratio that should be whole; rounded (noted) when the CPUs listed are uneven, e.g. some offline. */
function evenShare(total: number, parts: number, what: string, notes: string[]): number {
  const share = Math.max(1, Math.round(total / parts));
  if (share * parts !== total) notes.push(`${total} ${what} do not divide evenly by ${parts}: ${share} assumed`);
  return share;
}

/** Parses /proc/cpuinfo: one block per logical CPU ("processor"), x86 with physical id / core id, ARM without. */
export function parseCpuinfo(text: string): HostShape {
  const cpus = text
    .split(/\n\s*\n/)
    .map(fields)
    .filter((f) => wholeNumber(f.get("processor")) !== null);
  if (cpus.length === 0) throw new Error("no \"processor\" entries: not a /proc/cpuinfo text");
  const notes: string[] = [];
  const logicalCpus = cpus.length;
  const socketIds = new Set<string>();
  const coreIds = new Set<string>();
  let topologyKnown = true;
  for (const f of cpus) {
    const socket = f.get("physical id");
    const core = f.get("core id");
    if (socket === undefined || core === undefined) topologyKnown = false;
    else {
      socketIds.add(socket);
      coreIds.add(`${socket}/${core}`);
    }
  }
  let sockets: number;
  let coresPerSocket: number;
  let threadsPerCore: number;
  if (topologyKnown) {
    sockets = socketIds.size;
    coresPerSocket = evenShare(coreIds.size, sockets, "cores", notes);
    threadsPerCore = evenShare(logicalCpus, coreIds.size, "logical CPUs", notes);
  } else {
    sockets = 1;
    coresPerSocket = logicalCpus;
    threadsPerCore = 1;
    notes.push("no \"physical id\" / \"core id\" fields: one socket assumed, each logical CPU a core without SMT");
  }
  const model = cpus[0].get("model name") ?? cpus[0].get("Processor") ?? null;
  const part = cpus[0].get("CPU part");
  const modelName = model ?? (part !== undefined ? `CPU implementer ${cpus[0].get("CPU implementer") ?? "?"}, part ${part}` : null);
  const mhzs = cpus.map((f) => positiveNumber(f.get("cpu MHz"))).filter((v): v is number => v !== null);
  const mhz = mhzs.length > 0 ? Math.round(mhzs.reduce((a, b) => a + b, 0) / mhzs.length) : null;
  if (mhz === null) notes.push("no \"cpu MHz\" field: frequency unknown");
  else if (new Set(mhzs).size > 1) notes.push(`"cpu MHz" varies between CPUs (${Math.min(...mhzs)} to ${Math.max(...mhzs)}; frequency scaling): the mean is used`);
  const places = topologyKnown ? cpus.map((f) => ({ cpu: Number(f.get("processor")), socket: Number(f.get("physical id")), core: Number(f.get("core id")) })) : null;
  return { logicalCpus, sockets, coresPerSocket, threadsPerCore, modelName, mhz, source: "/proc/cpuinfo", notes, places };
}

/** Parses `lscpu` output ("CPU(s):", "Socket(s):", "Core(s) per socket:", "Thread(s) per core:"...). */
export function parseLscpu(text: string): HostShape {
  const f = fields(text);
  const logicalCpus = wholeNumber(f.get("CPU(s)"));
  if (logicalCpus === null || logicalCpus < 1) throw new Error("no \"CPU(s):\" line: not lscpu output");
  const notes: string[] = [];
  const threadsPerCore = wholeNumber(f.get("Thread(s) per core")) ?? 1;
  if (!f.has("Thread(s) per core")) notes.push("no \"Thread(s) per core\": no SMT assumed");
  let sockets = wholeNumber(f.get("Socket(s)"));
  if (sockets === null || sockets < 1) {
    sockets = 1;
    notes.push(`"Socket(s)" is "${f.get("Socket(s)") ?? "absent"}": one socket assumed`);
  }
  const perSocket = wholeNumber(f.get("Core(s) per socket")) ?? wholeNumber(f.get("Core(s) per cluster"));
  const coresPerSocket = perSocket ?? evenShare(logicalCpus, sockets * threadsPerCore, "logical CPUs", notes);
  if (sockets * coresPerSocket * threadsPerCore !== logicalCpus) {
    notes.push(`${sockets} sockets x ${coresPerSocket} cores x ${threadsPerCore} threads is not the ${logicalCpus} CPUs listed (some offline?)`);
  }
  const mhz = positiveNumber(f.get("CPU max MHz")) ?? positiveNumber(f.get("CPU MHz"));
  if (mhz === null) notes.push("no \"CPU max MHz\" or \"CPU MHz\": frequency unknown");
  return { logicalCpus, sockets, coresPerSocket, threadsPerCore, modelName: f.get("Model name") ?? null, mhz: mhz === null ? null : Math.round(mhz), source: "lscpu", notes, places: null };
}
