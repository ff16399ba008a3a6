import type { Scheme } from "./scheme.ts";
import { containerScheme } from "./container.ts";
import { pgetVe, pputVe, veCounter } from "./ve-counter.ts";

/**
 * OpenVZ as it was (the OpenVZ kernel patch, read in its 2.6.24 version, which Ubuntu 8.04
 * shipped as its openvz flavour): a task's `ve_task_info.owner_env` points to its VE, and
 * the VE keeps two counts in one line (ve-counter.ts).
 * - fork (kernel/fork.c copy_process, under tasklist_lock): `get_ve(p->ve_task_info.owner_env);
 *   pget_ve(p->ve_task_info.owner_env);` two atomics on the VE's line.
 * - exit (kernel/exit.c release_task): `pput_ve(p->ve_task_info.owner_env)`; the task's get_ve is
 *   dropped when the task_struct is freed (put_ve, after an RCU grace period in OpenVZ; here at
 *   once, right after the pput).
 * - unshare: under CONFIG_VE, sys_unshare returns -EINVAL for any CLONE_NEW* flag, so the task
 *   keeps its VE and nothing is counted.
 * - setns is OpenVZ's VE enter (kernel/ve/vecalls.c do_env_enter -> ve_move_task, read in a
 *   later OpenVZ tree): the task's process count moves from the old VE to the target
 *   (pcounter-- / ++) and its reference too.
 * - creating a VE (do_env_create) allocates and initialises a ve_struct: the container schemes'
 *   `containerAlloc`, with its namespaces. OpenVZ let only the host create VEs; a VE created inside
 *   another (the nested preset, or a fork with CLONE_NEW*) follows the container scheme and holds
 *   its parent, a nesting OpenVZ did not have.
 * The idealised `container` scheme is the 2006 proposal's one reference per task.
 */
const base = containerScheme(
  "openvz",
  "OpenVZ's VE (owner_env): get_ve + pget_ve, 2 atomics on the VE's line per fork, pput_ve + put_ve per exit; unshare of namespaces fails (-EINVAL), setns is a VE enter",
  veCounter,
  "the OpenVZ kernel patch for 2.6.24 (as Ubuntu 8.04 shipped it, its openvz flavour): include/linux/ve.h get_ve/put_ve on ve->counter and pget_ve/pput_ve on ve->pcounter; kernel/fork.c copy_process get_ve + pget_ve; kernel/exit.c release_task pput_ve; sys_unshare -EINVAL for CLONE_NEW* under CONFIG_VE; VE enter from kernel/ve/vecalls.c do_env_enter/ve_move_task of a later OpenVZ tree",
);

export const openvzScheme: Scheme = {
  ...base,
  fork(k, w, parent, newKinds) {
    const attach = base.fork(k, w, parent, newKinds);
    pgetVe(k, w, attach[0]);
    return attach;
  },
  exit(k, w, attach, owned) {
    pputVe(k, w, attach[0]);
    base.exit(k, w, attach, owned);
  },
  unshare(_k, _w, attach, _kinds, owned) {
    return { attach: attach.slice(), owned };
  },
  setns(k, w, attach, kind, target, owned) {
    pputVe(k, w, attach[0]);
    pgetVe(k, w, target[0]);
    return base.setns(k, w, attach, kind, target, owned);
  },
};
