// The pairing flow, the part of the controller that owns the pairing screen:
// offer -> device name -> comparison code while the computer asks -> token.
// The token leaves this module only through onPaired; the controller stores it.

import { comparisonCode, confirmPairing, defaultDeviceName, offerFromLink } from "./lib/pairing.js";
import { createPairingView } from "./views/pairing.js";

/**
 * @param {{ api: any, announce: (text: string, tone?: string) => void,
 *           onPaired: (pairing: {token: string, scheme: string, deviceId: string, deviceName: string}) => Promise<void>,
 *           onCancel: () => void }} options
 */
export function createPairingFlow({ api, announce, onPaired, onCancel }) {
  let offer = null;
  let busy = false;

  const view = createPairingView({
    onLink(text) {
      const parsed = offerFromLink(text);
      if (!parsed) {
        view.showStart("That is not a pairing link. It starts with codexremote://pair? and comes from your computer.", "error");
        return;
      }
      start(parsed);
    },
    onPair: (name) => pair(name),
    onCancel() {
      offer = null;
      view.showStart("");
      onCancel();
    },
  });

  function start(nextOffer, message = "", tone = "info") {
    offer = nextOffer;
    if (offer) view.showOffer(defaultDeviceName(), message);
    else view.showStart(message, tone);
  }

  async function pair(deviceName) {
    if (busy || !offer) return;
    busy = true;
    const current = offer;
    try {
      const code = await comparisonCode(current.nonce, current.pairingId, deviceName);
      view.showWaiting(code, deviceName);
      announce(`Confirm code ${code} on your computer`, "info", { quiet: true });
      const result = await confirmPairing(api, { ...current, deviceName });
      offer = null;
      view.showPaired(deviceName);
      await onPaired({ token: result.token, scheme: result.scheme, deviceId: result.deviceId, deviceName });
      announce(`Paired as ${deviceName}`, "ok");
    } catch (error) {
      const status = error?.status ?? -1;
      if (status === 0) {
        // Never reached the computer, or its answer was lost: the offer may still be good.
        view.showOffer(deviceName, `${error.message}. Check that this phone can reach your computer, then try again.`);
        return;
      }
      offer = null;
      const text =
        status === 403
          ? "Pairing was declined on your computer or timed out. Show a new QR code there and scan it again."
          : status === 400
            ? `${error.message}. Show a new QR code on your computer and scan it again.`
            : error?.message || "Pairing failed.";
      view.showStart(text, "error");
    } finally {
      busy = false;
    }
  }

  return { element: view.element, start };
}
