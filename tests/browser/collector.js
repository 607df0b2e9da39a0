// Test instrumentation (never shipped): collects console errors, uncaught errors,
// unhandled rejections and CSP violations of a page; see tests/browser/guards.py.
(() => {
  if (window.__probe__) return;
  const KEY = "__probe__";
  const saved = (() => { try { return JSON.parse(sessionStorage.getItem(KEY) || "[]"); } catch { return []; } })();
  const probe = { errors: saved };
  window.__probe__ = probe;
  const keep = (text) => {
    probe.errors.push(String(text));
    try { sessionStorage.setItem(KEY, JSON.stringify(probe.errors.slice(-200))); } catch {}
  };
  // WebKit's stack of an eval'd error is just "@": always keep the message too.
  const describe = (e) => (e && e.message !== undefined ? `${e.name}: ${e.message} ${e.stack || ""}` : String(e));
  const original = console.error.bind(console);
  console.error = (...args) => { keep("console.error: " + args.map(String).join(" ")); original(...args); };
  addEventListener("error", (event) => {
    if (event.target && event.target !== window && event.target.tagName) {
      keep(`resource error: <${event.target.tagName.toLowerCase()}> ${event.target.src || event.target.href || ""}`);
    } else {
      keep("uncaught: " + describe(event.error) + " " + (event.message || ""));
    }
  }, true);
  addEventListener("unhandledrejection", (event) => {
    const text = "unhandled rejection: " + describe(event.reason);
    keep(text);
    original(text);
  });
  document.addEventListener("securitypolicyviolation", (event) => {
    const text = `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile || ""}:${event.lineNumber || ""}`;
    keep(text);
    original(text);
  });
})();
