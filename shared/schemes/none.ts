import { RMW_NONE } from "../coherence/protocol.ts";
import type { Scheme } from "./scheme.ts";

/** No virtualization: tasks hold nothing, per-container variables are plain globals. */
export const noneScheme: Scheme = {
  name: "none",
  summary: "no namespaces (baseline): every task in the initial namespaces, no reference counting, variables are globals",
  source: "a floor, not a kernel: no namespace reference at all on fork and exit (Linux since 2.6.19 still takes get_nsproxy on init_nsproxy for a task in the initial namespaces); what the schemes' counting is measured against",
  namespaced: false,
  bytesPerTask() {
    return 0;
  },
  createContainer() {
    return { attach: [], creatorHolds: [] };
  },
  destroyContainer() {},
  fork() {
    return [];
  },
  exit() {},
  unshare() {
    return { attach: [], owned: false };
  },
  setns() {
    return { attach: [], owned: false };
  },
  namespaces() {
    return [];
  },
  access(k, w, _attach, taskLine) {
    w.access(taskLine, RMW_NONE);
    w.access(k.varsLine(k.globalObject), RMW_NONE);
  },
};
