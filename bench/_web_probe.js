// Benchmark instrumentation for bench/web_client.py (never shipped): runs before the
// page's own scripts and records, on the page's clock (performance.now()):
// - drawerPaintedAt: the first frame after a chat row is in the DOM;
// - tapAt / chatPaintedAt: the tap on a chat row, and the first frame after the
//   newest history page's marker text is in the DOM;
// - recv[n] / dom[n]: when the stream frame carrying delta "w<n> " arrived on the
//   WebSocket, and when text up to "w<n>" was in the DOM (MutationObserver);
// - longtasks: every long task (> 50 ms) the browser reported.
(() => {
  const B = (window.__bench = {
    drawerPaintedAt: null,
    drawerRows: 0,
    tapAt: null,
    chatMarker: null,
    chatPaintedAt: null,
    recv: {},
    dom: {},
    maxN: -1,
    longtasks: [],
    frames: 0,
  });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string" || event.data.indexOf('"message_delta"') < 0) return;
        const now = performance.now();
        const match = /"delta":"w(\d+) /.exec(event.data);
        if (match) B.recv[match[1]] = now;
      });
    }
  };
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) B.longtasks.push([entry.startTime, entry.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch {}
  const tail = /w(\d+)\s*$/;
  function onDelta(text) {
    const match = tail.exec(text.slice(-24));
    if (!match) return;
    const n = Number(match[1]);
    if (n <= B.maxN) return;
    const now = performance.now();
    for (let k = B.maxN + 1; k <= n; k += 1) B.dom[k] = now;
    B.maxN = n;
  }
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "characterData") {
        onDelta(record.target.data || "");
        continue;
      }
      for (const node of record.addedNodes) {
        const text = node.textContent || "";
        if (B.drawerPaintedAt === null && node.nodeType === 1 && (node.matches?.(".chat-row") || node.querySelector?.(".chat-row"))) {
          B.drawerPaintedAt = -1;
          requestAnimationFrame(() => {
            B.drawerPaintedAt = performance.now();
            B.drawerRows = document.querySelectorAll(".chat-row").length;
          });
        }
        if (B.tapAt !== null && B.chatPaintedAt === null && B.chatMarker && text.includes(B.chatMarker)) {
          B.chatPaintedAt = -1;
          requestAnimationFrame(() => (B.chatPaintedAt = performance.now()));
        }
        if (text.length > 1) onDelta(text);
      }
    }
  });
  const start = () => observer.observe(document.documentElement, { subtree: true, childList: true, characterData: true });
  if (document.documentElement) start();
  else addEventListener("DOMContentLoaded", start);
  for (const type of ["touchstart", "pointerdown", "mousedown", "click"]) {
    addEventListener(type, (event) => {
      if (B.chatMarker && B.tapAt === null && event.target.closest?.(".chat-row")) B.tapAt = event.timeStamp;
    }, true);
  }
})();
