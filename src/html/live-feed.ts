import { analyse } from "../analysis/analyse.js";
import type { CaptureModel } from "../analysis/model.js";
import { buildView, pendingView } from "./build-view.js";
import type { View } from "./view-model.js";

/** Milliseconds between views while records arrive (LEAKTRAIL_UI_EVERY_MS overrides, for tests). */
const EVERY_MS = Number(process.env.LEAKTRAIL_UI_EVERY_MS) > 0 ? Number(process.env.LEAKTRAIL_UI_EVERY_MS) : 1000;

/** The view of a model as it stands: the analysis so far, or a placeholder before any process reported. */
export function viewOf(model: CaptureModel, capturePath: string | null, state: "running" | "ended"): View {
  const live = { state, updated: Date.now() / 1000 } as const;
  if (model.processes.length === 0) {
    const waiting = pendingView(model.header.command, model.header.cwd, capturePath, { state: state === "ended" ? "ended" : "waiting", updated: live.updated });
    if (state === "ended") waiting.verdict.explanation = "The run ended before any Python process reported: nothing to analyse.";
    return waiting;
  }
  const { report, processes } = analyse(model, { heap: false });
  return buildView({ model, report, processes, capturePath, live });
}

/**
 * Recomputes the view while records arrive, at most once a second and only when
 * something changed; an analysis that takes long spaces the next one out (three times its
 * cost), so a live page never keeps the CLI busy.
 */
export class LiveFeed {
  private version = 0;
  private shown = -1;
  private notBefore = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly snapshot: () => CaptureModel,
    private readonly publish: (view: View) => void,
    private readonly capturePath: string | null,
    private readonly isEnded: (model: CaptureModel) => boolean = () => false,
  ) {}

  /** Records arrived. */
  changed(): void {
    this.version++;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), EVERY_MS);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  tick(): void {
    if (this.version === this.shown || Date.now() < this.notBefore) return;
    const version = this.version;
    const began = Date.now();
    try {
      const model = this.snapshot();
      this.publish(viewOf(model, this.capturePath, this.isEnded(model) ? "ended" : "running"));
    } catch {
      // a view so far is a courtesy; the next change tries again
    }
    this.shown = version;
    this.notBefore = Date.now() + 2 * (Date.now() - began);
  }
}
