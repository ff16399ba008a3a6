import type { MessagePort } from "node:worker_threads";
import type { Subscription, Transport, TransportMessage } from "../transport/transport.ts";
import type { FromHub, ToHub } from "./port-protocol.ts";

/**
 * The main thread's end of a worker thread's transport: performs the thread's calls on a
 * connection of the in-memory bus and sends it what arrives.
 */
export function bridgePort(port: MessagePort, connection: Transport): () => Promise<void> {
  const subs = new Map<number, Subscription>();
  const replies = new Map<number, TransportMessage>();
  let nextReply = 1;
  const send = (m: FromHub) => port.postMessage(m);
  port.on("message", (m: ToHub) => {
    switch (m.op) {
      case "publish":
        connection.publish(m.subject, m.data);
        return;
      case "subscribe":
        subs.set(
          m.id,
          connection.subscribe(m.subject, (msg) => {
            let replyId: number | undefined;
            if (msg.respond !== undefined) {
              replyId = nextReply++;
              replies.set(replyId, msg);
            }
            send({ op: "message", sub: m.id, subject: msg.subject, data: msg.data, replyId });
          }),
        );
        return;
      case "unsubscribe":
        subs.get(m.id)?.unsubscribe();
        subs.delete(m.id);
        return;
      case "request":
        connection.request(m.subject, m.data, m.timeoutMs).then(
          (data) => send({ op: "reply", id: m.id, data }),
          (e: Error & { subject?: string; timeoutMs?: number }) =>
            send({ op: "reply", id: m.id, error: { name: e.name, message: e.message, subject: e.subject, timeoutMs: e.timeoutMs } }),
        );
        return;
      case "respond": {
        const msg = replies.get(m.replyId);
        replies.delete(m.replyId);
        msg?.respond?.(m.data);
        return;
      }
      case "flush":
        connection.flush().then(() => send({ op: "flushed", id: m.id }));
        return;
      case "close":
        for (const s of subs.values()) s.unsubscribe();
        subs.clear();
        return;
    }
  });
  return async () => {
    for (const s of subs.values()) s.unsubscribe();
    subs.clear();
    port.close();
    await connection.close();
  };
}
