// The one door for raw HTML in the web client (SEC-12). Agent output is
// untrusted: Markdown is parsed by marked, its HTML passes DOMPurify with a
// strict allowlist and comes back as a DOM fragment (never a string that some
// other module could assign to innerHTML), then links and code blocks are
// finished with DOM calls. Raw HTML inside the Markdown is shown as text, and
// Markdown images become plain text, so nothing in a reply can load a resource
// or run a handler. Every other module builds DOM through lib/dom.js; a test
// greps web/ for HTML sinks outside this file and vendor/.

import { Marked } from "../vendor/marked/marked.esm.js";
import "../vendor/dompurify/purify.min.js"; // UMD build: defines globalThis.DOMPurify
import { h } from "./dom.js";

/** @type {any} */
const DOMPurify = /** @type {any} */ (globalThis).DOMPurify;

/** Name of the Trusted Types policy this module owns (for a later
 * `trusted-types` CSP directive). The sanitiser is the only caller. */
export const TRUSTED_TYPES_POLICY = "codexremote-markdown";

const ALLOWED_TAGS = [
  "p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote",
  "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
  "table", "thead", "tbody", "tr", "th", "td", "input", "span",
];
const ALLOWED_ATTR = ["href", "title", "start", "align", "class", "type", "checked", "disabled"];

const SANITISE = {
  ALLOWED_TAGS,
  ALLOWED_ATTR,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
  // Only http(s) and mailto survive at all; finishLinks narrows to http(s).
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
};

let policy = null;
const tt = /** @type {any} */ (globalThis).trustedTypes;
if (tt && typeof tt.createPolicy === "function") {
  try {
    // Only DOMPurify hands strings to this policy, and only to parse them into
    // an inert document before it sanitises them.
    policy = tt.createPolicy(TRUSTED_TYPES_POLICY, { createHTML: (s) => s });
    SANITISE.TRUSTED_TYPES_POLICY = policy;
  } catch {
    policy = null; // the page's CSP does not list the name: DOMPurify uses its own
  }
}

function escapeText(text) {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    // Raw HTML in agent text is shown as the text it is.
    html(token) {
      return escapeText(token.text);
    },
    // No remote images: the alt text (and address) as text.
    image(token) {
      const label = token.text || "image";
      return escapeText(token.href ? `${label} (${token.href})` : label);
    },
  },
});

/** Keep only http(s) links; they open in a new context without an opener. */
function finishLinks(root) {
  for (const a of Array.from(root.querySelectorAll("a"))) {
    const href = a.getAttribute("href") || "";
    let ok = false;
    try {
      const url = new URL(href, "http://invalid.invalid/");
      ok = (url.protocol === "http:" || url.protocol === "https:") && /^https?:/i.test(href.trim());
    } catch {
      ok = false;
    }
    if (!ok) {
      a.replaceWith(h("span", { class: "md-link-blocked" }, a.textContent || ""));
      continue;
    }
    a.setAttribute("rel", "noopener noreferrer");
    a.setAttribute("target", "_blank");
  }
}

/** Code blocks scroll on their own and get a copy button (clipboard write inside the tap). */
function finishCode(root) {
  for (const pre of Array.from(root.querySelectorAll("pre"))) {
    const code = pre.querySelector("code");
    const text = ((code || pre).textContent || "").replace(/\n$/, "");
    const language = code ? /language-([\w+-]+)/.exec(code.className || "")?.[1] : undefined;
    const status = h("span", { class: "md-copy-status", role: "status" });
    const button = h("button", {
      type: "button",
      class: "md-copy",
      "aria-label": "Copy code",
      text: "Copy",
      on: {
        click: () => {
          const clip = navigator.clipboard;
          if (!clip || typeof clip.writeText !== "function") {
            status.textContent = "Copy not available";
            return;
          }
          clip.writeText(text).then(
            () => { status.textContent = "Copied"; },
            () => { status.textContent = "Copy failed"; },
          );
        },
      },
    });
    pre.tabIndex = 0;
    const wrap = h("div", { class: "md-code" },
      h("div", { class: "md-code-bar" }, h("span", { class: "md-code-lang", text: language || "" }), status, button));
    pre.replaceWith(wrap);
    wrap.append(pre);
  }
  for (const box of Array.from(root.querySelectorAll("input"))) {
    if (box.getAttribute("type") !== "checkbox") box.remove();
    else box.disabled = true;
  }
}

function sanitise(html) {
  const fragment = DOMPurify.sanitize(html, SANITISE);
  finishLinks(fragment);
  finishCode(fragment);
  return fragment;
}

/**
 * Render untrusted Markdown to a sanitised DocumentFragment.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  return sanitise(marked.parse(String(text ?? "")));
}

/**
 * Split Markdown into top-level blocks, so a streaming message can freeze
 * finished blocks and re-render only its last, unfinished one.
 * @param {string} text
 * @returns {{raw: string, complete: boolean}[]}
 */
export function splitBlocks(text) {
  const tokens = marked.lexer(String(text ?? ""));
  const blocks = tokens.map((t) => ({ raw: t.raw, complete: true }));
  // The last non-space block may still grow.
  for (let i = blocks.length - 1; i >= 0; i -= 1) {
    if (tokens[i].type !== "space") {
      blocks[i].complete = false;
      for (let j = i + 1; j < blocks.length; j += 1) blocks[j].complete = false;
      break;
    }
  }
  return blocks;
}

/** Whether DOMPurify loaded (a test and the bench check it). */
export function sanitiserReady() {
  return Boolean(DOMPurify && DOMPurify.isSupported);
}
