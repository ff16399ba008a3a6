/**
 * What a worker thread's transport and the main thread's hub say to each other over a
 * MessagePort (structured clone, so message data crosses as bytes, copied).
 */
export type ToHub =
  | { op: "publish"; subject: string; data: Uint8Array }
  | { op: "subscribe"; id: number; subject: string }
  | { op: "unsubscribe"; id: number }
  | { op: "request"; id: number; subject: string; data: Uint8Array; timeoutMs: number }
  | { op: "respond"; replyId: number; data: Uint8Array }
  | { op: "flush"; id: number }
  | { op: "close" };

export type FromHub =
  | { op: "message"; sub: number; subject: string; data: Uint8Array; replyId?: number }
  | { op: "reply"; id: number; data?: Uint8Array; error?: { name: string; message: string; subject?: string; timeoutMs?: number } }
  | { op: "flushed"; id: number };
