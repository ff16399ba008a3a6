/** C0 and C1 control characters and DEL, except tab (ANSI escapes start with one). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text that came in a message (a failure's message, an abort's reason), safe to print on a
 * terminal: control characters become "?", so no escape sequence reaches it raw, and newlines
 * cannot forge log lines.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, "?").replace(/\n/g, "\\n");
}
