// The page's one live region (role=status, style.md web client 13): transient
// messages for screen readers, shown as a short toast unless the screen already
// says the same thing.

const TOAST_MS = 4000;

/** @param {HTMLElement} region the `#status` element of index.html */
export function createAnnouncer(region) {
  let timer = 0;
  /**
   * @param {string} text
   * @param {"info" | "ok" | "error"} [tone]
   * @param {{ quiet?: boolean }} [options] quiet: for screen readers only
   */
  return function announce(text, tone = "info", { quiet = false } = {}) {
    clearTimeout(timer);
    region.textContent = "";
    region.dataset.tone = tone;
    // A fresh text node after clearing makes screen readers read a repeat too.
    requestAnimationFrame(() => {
      region.textContent = text;
      region.classList.toggle("visible", Boolean(text) && !quiet);
    });
    timer = setTimeout(() => region.classList.remove("visible"), TOAST_MS);
  };
}
