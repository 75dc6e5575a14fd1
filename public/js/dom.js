/** Small DOM helpers shared by the console's panels. No framework: elements by id, text only. */

/** The element with this id; throws if the page lacks it (a typo, not a runtime condition). */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`console: no element #${id}`);
  return element;
}

/**
 * Create an element with attributes and children (strings become text nodes, never HTML, so
 * message data cannot inject markup).
 */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.filter((child) => child !== undefined && child !== null));
  return element;
}

const numberFormat = new Intl.NumberFormat();

/** A count for display; a dash when unknown. */
export function count(value) {
  return typeof value === "number" ? numberFormat.format(value) : "–";
}

/** Seconds as a short age: 42 s, 3 min, 2 h. */
export function age(seconds) {
  if (typeof seconds !== "number" || seconds <= 0) return "–";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** A result line: text plus an ok / failed style, announced by its role="status" element. */
export function showResult(element, text, ok) {
  element.textContent = text;
  element.classList.toggle("ok", ok === true);
  element.classList.toggle("failed", ok === false);
}

/** An error as one human line: the API's code and message when it has them. */
export function describeError(error) {
  if (error && typeof error === "object" && "code" in error && "message" in error) {
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Run `task` now and then every `intervalMs` after it finishes (never two at once), paused
 * while the tab is hidden so a background tab costs the server nothing. `stop()` ends it.
 */
export function poll(task, intervalMs) {
  let timer;
  let stopped = false;
  let running = false;
  let again = false;
  const run = async () => {
    clearTimeout(timer);
    if (stopped || document.hidden) return;
    if (running) {
      again = true; // asked for while a run is in progress: run once more right after it
      return;
    }
    running = true;
    try {
      await task();
    } catch (error) {
      console.warn("console: poll failed", error);
    } finally {
      running = false;
      if (!stopped) timer = setTimeout(run, again ? 0 : intervalMs);
      again = false;
    }
  };
  const onVisibility = () => {
    if (!document.hidden) void run();
  };
  document.addEventListener("visibilitychange", onVisibility);
  void run();
  return {
    /** Run again now (after a change made from this page). */
    now: () => void run(),
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    },
  };
}
