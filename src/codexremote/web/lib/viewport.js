// The app's height follows the visual viewport, so the composer and an open
// approval card stay above the iPhone keyboard instead of behind it. The value
// lands in the CSS variable --app-height (px); app.css falls back to 100dvh.

/** @param {HTMLElement} root */
export function watchViewport(root) {
  const vv = window.visualViewport;
  if (!vv) return;
  let frame = 0;
  const update = () => {
    frame = 0;
    root.style.setProperty("--app-height", `${Math.round(vv.height)}px`);
    // iOS scrolls the layout viewport under the keyboard; keep the app in view.
    root.style.setProperty("--app-offset", `${Math.round(vv.offsetTop)}px`);
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(update);
  };
  vv.addEventListener("resize", schedule);
  vv.addEventListener("scroll", schedule);
  update();
}
