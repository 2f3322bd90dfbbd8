import type { Socket } from "node:net";
import type { CaptureRecord } from "../capture/format.js";

/** Seconds to wait, after the target has ended, for heap graphs whose walk has begun. */
export const GRAPH_WAIT_SECONDS = 120;

/**
 * The connections on which a forked copy is walking a heap: it said `heap-graph-begin`
 * and has not sent its `heap-graph` yet. The CLI waits longer for these than for agents'
 * last words, since a big heap takes the copy seconds to walk.
 */
export class GraphWalks {
  private readonly walking = new Set<Socket>();

  see(socket: Socket, record: CaptureRecord): void {
    if (record.k === "heap-graph-begin") this.walking.add(socket);
    else if (record.k === "heap-graph") this.walking.delete(socket);
  }

  forget(socket: Socket): void {
    this.walking.delete(socket);
  }

  get pending(): boolean {
    return this.walking.size > 0;
  }
}
