// Reading a pairing offer (the QR's web link fragment, or a pasted
// codexremote:// or web link), the default device name, the comparison code
// (docs/pairing.md, SEC-08: computed here so it shows while the computer asks),
// and the confirm call. No DOM: the controller and views/pairing.js use it.

import { hmacSha256 } from "./sha256.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NONCE = /^[0-9a-f]{32}$/i;

/** @returns {{pairingId: string, nonce: string} | null} */
export function offerFromParams(params) {
  const pairingId = (params.get("pairingId") || "").trim();
  const nonce = (params.get("nonce") || "").trim();
  if (!UUID.test(pairingId) || !NONCE.test(nonce)) return null;
  return { pairingId, nonce: nonce.toLowerCase() };
}

/** The offer in a location fragment such as `#pairingId=…&nonce=…`. */
export function offerFromFragment(hash) {
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  if (!text.includes("pairingId=")) return null;
  return offerFromParams(new URLSearchParams(text));
}

/**
 * A pasted link: `codexremote://pair?…` (the app link) or the web link `https://host/#pairingId=…`.
 * @returns {{pairingId: string, nonce: string} | null}
 */
export function offerFromLink(text) {
  const link = String(text || "").trim();
  const app = /^codexremote:\/\/pair\/?\?(.*)$/i.exec(link);
  if (app) return offerFromParams(new URLSearchParams(app[1].split("#")[0]));
  const hashAt = link.indexOf("#");
  if (hashAt >= 0) return offerFromFragment(link.slice(hashAt));
  return null;
}

/** A sensible device name from the user agent, e.g. "iPhone". */
export function defaultDeviceName(userAgent = navigator.userAgent) {
  if (/iPhone/.test(userAgent)) return "iPhone";
  if (/iPad/.test(userAgent) || (/Macintosh/.test(userAgent) && navigator.maxTouchPoints > 1)) return "iPad";
  if (/Android/.test(userAgent)) return /Mobile/.test(userAgent) ? "Android phone" : "Android tablet";
  if (/Macintosh/.test(userAgent)) return "Mac browser";
  if (/Windows/.test(userAgent)) return "Windows browser";
  return "Browser";
}

/** The six digits the computer shows: HMAC-SHA256(nonce, pairingId + "\n" + deviceName). */
export async function comparisonCode(nonce, pairingId, deviceName) {
  const key = hexBytes(nonce);
  const message = new TextEncoder().encode(`${pairingId}\n${deviceName}`);
  let mac;
  if (globalThis.crypto?.subtle) {
    const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, message));
  } else {
    mac = hmacSha256(key, message);
  }
  const number = new DataView(mac.buffer, mac.byteOffset, 4).getUint32(0);
  return String(number % 1_000_000).padStart(6, "0");
}

/**
 * POST /v1/pairing/confirm; resolves once the person at the computer allowed it.
 * @returns {Promise<{deviceId: string, token: string, scheme: string, comparisonCode?: string}>}
 */
export async function confirmPairing(api, { pairingId, nonce, deviceName }) {
  const answer = await api.post("/v1/pairing/confirm", { pairingId, nonce, deviceName }, { timeoutMs: 30_000 });
  if (!answer || typeof answer.token !== "string" || typeof answer.deviceId !== "string") {
    throw new Error("The computer sent an unexpected pairing answer");
  }
  return answer;
}

function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
