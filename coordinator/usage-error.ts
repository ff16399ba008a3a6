/** A user's mistake (an option, a folder): printed as one line without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
