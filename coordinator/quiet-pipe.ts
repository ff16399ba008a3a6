/**
 * `refsim presets | head`: once the reader of stdout (or stderr) has gone, writing to it fails
 * with EPIPE. Node reports that as an unhandled 'error' event with a stack trace. A command
 * whose reader left has nobody to tell, so the stream is dropped quietly and the command goes
 * on (its files are still written and its exit code still means what it says). Any other write
 * error of a standard stream is one line on stderr and exit code 1.
 */
export function quietBrokenPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") return;
      if (stream !== process.stderr) process.stderr.write(`refsim: cannot write to stdout: ${e.message}\n`);
      process.exit(1);
    });
  }
}
