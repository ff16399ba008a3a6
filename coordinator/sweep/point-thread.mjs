// Entry of a point thread: threads do not inherit the main thread's TypeScript loader.
import { register } from "tsx/esm/api";

register();
await import("./point-thread.ts");
