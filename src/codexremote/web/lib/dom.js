// The one element factory of the web client. Data enters the DOM only as text:
// children that are strings become Text nodes, never markup. Raw HTML has one
// named door elsewhere (lib/markdown.js, through the sanitiser).

/**
 * Build an element.
 * @param {string} tag  element name, e.g. "button"
 * @param {Record<string, unknown>} [props]  `class`, `text`, `dataset`, `style`
 *   (object), `on` (object of event listeners), `aria-*`/`role`/other attributes
 *   (strings, set with setAttribute), and DOM properties (e.g. `type`, `disabled`,
 *   `value`, `hidden`) set directly.
 * @param {...(Node|string|number|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key === "on") {
      for (const [name, fn] of Object.entries(value)) el.addEventListener(name, fn);
    } else if (key === "role" || key.startsWith("aria-") || key.startsWith("data-") || key === "for") {
      el.setAttribute(key, String(value));
    } else if (key in el) el[key] = value;
    else el.setAttribute(key, String(value));
  }
  append(el, ...children);
  return el;
}

/** Append children (strings become Text nodes). */
export function append(parent, ...children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Remove every child of `el`. */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}
