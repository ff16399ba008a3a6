import { RMW_NONE } from "../coherence/protocol.ts";
import type { Scheme } from "./scheme.ts";

/** No virtualization: tasks hold nothing, per-container variables are plain globals. */
export const noneScheme: Scheme = {
  name: "none",
  summary: "no namespaces (baseline): every task in the initial namespaces, no reference counting, variables are globals",
  source: "a floor, not a kernel: no namespace reference at all on fork and exit (Linux since 2.6.19 still takes get_nsproxy on init_nsproxy for a task in the initial namespaces); what the schemes' counting is measured against",
  namespaced: false,
  varHome: "global",
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
  access(k, w, _attach, task) {
    w.access(k.threadInfoLine(task), RMW_NONE);
    return { container: -1, namespaces: [] };
  },
};
