// Short relative times for lists ("now", "5 min", "3 h", "Tue", "12 Mar").
//
// Calendar labels ("Tue", "12 Mar") need Intl.DateTimeFormat, and the page's first
// one loads the locale's calendar data: 70-110 ms on a phone-speed CPU (measured
// with 4x throttling in bench/web_client.py), longer than everything else the
// launch does to paint the drawer. So a list may ask for a label only if the
// formatters exist (`ifReady`), paint without it, and fill it in once
// `prepareCalendar()` ran after that paint. Each formatter is made once (a
// toLocaleDateString call would build a new one every time).

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const FORMATS = {
  weekday: { weekday: "short" },
  dayMonth: { day: "numeric", month: "short" },
  dayMonthYear: { day: "numeric", month: "short", year: "numeric" },
};
/** @type {Map<string, Intl.DateTimeFormat>} */
const formatters = new Map();

/** @param {keyof typeof FORMATS} kind */
function formatter(kind) {
  let made = formatters.get(kind);
  if (!made) {
    made = new Intl.DateTimeFormat(undefined, FORMATS[kind]);
    formatters.set(kind, made);
  }
  return made;
}

/** Make the calendar formatters now (the slow first one included). */
export function prepareCalendar() {
  for (const kind of Object.keys(FORMATS)) formatter(/** @type {keyof typeof FORMATS} */ (kind));
}

/**
 * @param {number} ms epoch milliseconds
 * @param {number} [now]
 * @param {{ifReady?: boolean}} [options] ifReady: null instead of making the first calendar formatter
 * @returns {string | null}
 */
export function relativeTime(ms, now = Date.now(), { ifReady = false } = {}) {
  if (!Number.isFinite(ms) || ms <= 0) return "";
  const age = now - ms;
  if (age < MINUTE) return "now";
  if (age < HOUR) return `${Math.floor(age / MINUTE)} min`;
  if (age < DAY) return `${Math.floor(age / HOUR)} h`;
  const date = new Date(ms);
  const sameYear = date.getFullYear() === new Date(now).getFullYear();
  const kind = age < 6 * DAY ? "weekday" : sameYear ? "dayMonth" : "dayMonthYear";
  if (ifReady && !formatters.has(kind)) return null;
  return formatter(kind).format(date);
}
