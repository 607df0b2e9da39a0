// The microphone: getUserMedia + MediaRecorder in whatever container the browser
// offers (audio/mp4 on iOS Safari, audio/webm in Chromium), and a level from an
// AnalyserNode for the meter. Chunks arrive every second so the caller can store
// them as they come: a reload or a sleeping phone loses at most the last second.
// Knows nothing of the DOM or the network.

const CHUNK_MS = 1000;
// The first the browser supports wins; the companion's upstream infers the format
// from the file name's extension, so each type carries its own.
const TYPES = [
  ["audio/webm;codecs=opus", "webm"],
  ["audio/webm", "webm"],
  ["audio/mp4", "m4a"],
  ["audio/ogg;codecs=opus", "ogg"],
];

export function micSupported() {
  return typeof MediaRecorder === "function" && Boolean(navigator.mediaDevices?.getUserMedia);
}

/** The container to ask for: `{ mimeType, extension }`; mimeType "" lets the browser choose. */
function pickType() {
  for (const [type, extension] of TYPES) {
    if (MediaRecorder.isTypeSupported?.(type)) return { mimeType: type, extension };
  }
  return { mimeType: "", extension: "" };
}

/** "audio/webm;codecs=opus" -> "audio/webm" (the part header needs no parameters). */
export function baseType(mimeType) {
  return String(mimeType || "").split(";")[0].trim().toLowerCase();
}

export function extensionFor(mimeType) {
  const base = baseType(mimeType);
  if (base === "audio/mp4" || base === "audio/x-m4a" || base === "audio/aac") return "m4a";
  if (base === "audio/ogg") return "ogg";
  if (base === "audio/wav" || base === "audio/x-wav") return "wav";
  return "webm";
}

/**
 * Start recording. Resolves once the microphone is open (rejects when refused).
 * @param {{ onChunk(data: ArrayBuffer): void }} hooks
 */
export async function startMic({ onChunk }) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const { mimeType } = pickType();
  let recorder;
  try {
    recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  } catch (error) {
    for (const track of stream.getTracks()) track.stop();
    throw error;
  }
  let context = null;
  let analyser = null;
  let samples = null;
  try {
    const Context = window.AudioContext ?? window.webkitAudioContext;
    context = new Context();
    analyser = context.createAnalyser();
    analyser.fftSize = 512;
    samples = new Uint8Array(analyser.fftSize);
    context.createMediaStreamSource(stream).connect(analyser);
    // Safari starts a context made after an await "suspended": the meter would stay still.
    context.resume?.().catch(() => {});
  } catch {
    analyser = null; // no meter, still a recording
  }
  // Chunks are read in order: each arrayBuffer() is chained after the previous one.
  let reading = Promise.resolve();
  recorder.addEventListener("dataavailable", (event) => {
    if (!event.data || !event.data.size) return;
    const blob = event.data;
    reading = reading.then(() => blob.arrayBuffer()).then((data) => onChunk(data), () => {});
  });
  const stopped = new Promise((resolve) => recorder.addEventListener("stop", () => resolve(), { once: true }));
  recorder.start(CHUNK_MS);

  function release() {
    for (const track of stream.getTracks()) track.stop();
    context?.close().catch(() => {});
  }

  return {
    /** The container the browser actually records in. */
    get mimeType() {
      return recorder.mimeType || mimeType || "audio/webm";
    },
    /** 0..1: the RMS of the last few milliseconds. */
    level() {
      if (!analyser) return 0;
      analyser.getByteTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += ((v - 128) / 128) ** 2;
      return Math.min(1, Math.sqrt(sum / samples.length) * 3);
    },
    /** Stop and wait until every chunk went to onChunk. */
    async stop() {
      if (recorder.state !== "inactive") recorder.stop();
      await stopped;
      release();
      await reading;
    },
    /** Stop without keeping anything still to come. */
    cancel() {
      onChunk = () => {};
      if (recorder.state !== "inactive") recorder.stop();
      release();
    },
  };
}
