/**
 * Lets the worker's event loop turn between tests. Most end-to-end tests wait for real
 * programs with spawnSync, which blocks the loop; vitest's worker talks to the main process
 * over RPC with a 60 s timeout, and a file of blocking tests longer than that ended the run
 * with "Timeout calling onTaskUpdate" although every answer had arrived, unread.
 */
import { afterEach } from "vitest";

afterEach(async () => {
  await new Promise<void>((resolve) => setImmediate(resolve));
});
