// A message body that grows while the agent streams. Finished Markdown blocks
// are rendered once and frozen; only the last, unfinished block is re-rendered,
// and at most once per animation frame (style.md practice 4), so a long answer
// costs the same per delta as a short one.

import { h, clear } from "../lib/dom.js";
import { renderMarkdown, splitBlocks } from "../lib/markdown.js";

// Characters that can start or end Markdown/HTML syntax, a line or an entity.
const MARKUP = /[\n\r*_`~[\]()<>!\\&|#:]/;

/** The Text node that ends the last paragraph, if the paragraph ends in plain text. */
function plainEnd(root) {
  const block = root.lastElementChild;
  if (!block || block.tagName !== "P") return null;
  const last = block.lastChild;
  return last && last.nodeType === Node.TEXT_NODE && !last.nextSibling ? /** @type {Text} */ (last) : null;
}

/**
 * @param {(fn: () => void) => void} schedule  run `fn` in the next animation frame
 *   (the timeline batches every update of one frame and then keeps the view pinned)
 * @returns {{element: HTMLElement, set(text: string): void, append(delta: string): void,
 *   text(): string, finish(): void}}
 */
export function createStreamingText(schedule) {
  const frozen = h("div", { class: "md-frozen" });
  const tail = h("div", { class: "md-tail" });
  const element = h("div", { class: "md" }, frozen, tail);
  let text = "";
  let frozenLen = 0;
  let pending = false;
  let finished = false;
  let tailLen = 0; // source characters (after frozenLen) that the tail DOM shows
  /** @type {Text | null} */
  let tailEnd = null; // the paragraph text the next plain delta can extend in place

  /** Plain words added to a paragraph that ends in plain text: extend its Text node
   * (no parse, no sanitiser: the characters are text and cannot form markup). */
  function extendInPlace() {
    if (finished || !tailEnd || !tailEnd.isConnected) return false;
    const added = text.slice(frozenLen + tailLen);
    if (!added || MARKUP.test(added)) return false;
    // A new Text node per frame, not appendData: the engine can keep the shaped
    // text of the nodes before it, so layout cost stays per frame, not per paragraph.
    const node = document.createTextNode(added);
    tailEnd.after(node);
    tailEnd = node;
    tailLen += added.length;
    return true;
  }

  function flush() {
    pending = false;
    if (extendInPlace()) return;
    const rest = text.slice(frozenLen);
    const blocks = splitBlocks(rest);
    let done = "";
    let open = "";
    for (const block of blocks) {
      if (block.complete && !finished && open === "") done += block.raw;
      else open += block.raw;
    }
    if (finished) {
      done = rest;
      open = "";
    }
    if (done) {
      frozen.append(renderMarkdown(done));
      frozenLen += done.length;
    }
    clear(tail);
    if (open.trim()) tail.append(renderMarkdown(open));
    // Trailing spaces are not rendered; the next delta re-adds them from the source.
    tailLen = open.trimEnd().length;
    tailEnd = plainEnd(tail);
  }

  function request() {
    if (pending) return;
    pending = true;
    schedule(flush);
  }

  return {
    element,
    text: () => text,
    /** Replace the whole text (e.g. the completed item's own text after a gap). */
    set(next) {
      const value = String(next ?? "");
      if (value === text) return;
      if (!value.startsWith(text.slice(0, frozenLen))) {
        clear(frozen);
        frozenLen = 0;
      }
      if (!value.startsWith(text)) tailEnd = null; // not an append: render the tail again
      text = value;
      request();
    },
    append(delta) {
      if (!delta) return;
      text += String(delta);
      request();
    },
    /** No more text will come: render everything as final blocks. */
    finish() {
      finished = true;
      request();
    },
  };
}

/** A message body that never changes (history). */
export function staticText(text) {
  return h("div", { class: "md" }, renderMarkdown(text));
}
