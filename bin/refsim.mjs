#!/usr/bin/env node
// refsim CLI entry point: registers tsx so the TypeScript sources run directly,
// then hands over to coordinator/cli.ts.
import { register } from "tsx/esm/api";

register();

await import(new URL("../coordinator/cli.ts", import.meta.url).href);
