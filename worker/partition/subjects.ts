/** Subjects of a run. */
export const subjects = {
  /** The coordinator's start, finish and abort. */
  control: (prefix: string) => `${prefix}.ctl`,
  /** Partition `from`'s step message, every window (all partitions listen to `<prefix>.step.*`). */
  step: (prefix: string, from: number) => `${prefix}.step.${from}`,
  steps: (prefix: string) => `${prefix}.step.*`,
  ready: (prefix: string) => `${prefix}.ready`,
  progress: (prefix: string) => `${prefix}.progress`,
  report: (prefix: string) => `${prefix}.report`,
  failure: (prefix: string) => `${prefix}.failure`,
  resync: (prefix: string) => `${prefix}.resync`,
};
