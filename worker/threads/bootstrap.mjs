// Entry of a worker thread: threads do not inherit the main thread's TypeScript loader.
import { register } from "tsx/esm/api";

register();
await import("./partition-thread.ts");
