// The pairing screen: how to start (scan the QR, or paste a link), the device
// name for an offer, the comparison code while the computer asks, and the
// reason when pairing failed or this device was unpaired. It builds one root
// element and emits callbacks; the controller makes the calls.

import { clear, h } from "../lib/dom.js";

/**
 * @param {{ onPair: (name: string) => void, onLink: (text: string) => void, onCancel: () => void }} options
 */
export function createPairingView({ onPair, onLink, onCancel }) {
  const message = h("p", { class: "notice", hidden: true });
  const body = h("div", { class: "pairing-body" });
  const element = h(
    "section",
    { class: "pairing", "aria-labelledby": "pairing-title" },
    h("div", { class: "pairing-logo", "aria-hidden": "true" }),
    h("h1", { class: "pairing-title", id: "pairing-title", text: "Pair with your computer" }),
    message,
    body,
  );

  function setMessage(text, tone = "info") {
    message.hidden = !text;
    message.textContent = text || "";
    message.dataset.tone = tone;
  }

  function linkForm() {
    const input = h("textarea", {
      class: "input",
      id: "pair-link",
      rows: 3,
      autocapitalize: "off",
      autocomplete: "off",
      spellcheck: false,
      placeholder: "codexremote://pair?…",
    });
    const form = h(
      "form",
      {
        class: "stack",
        on: {
          submit: (event) => {
            event.preventDefault();
            onLink(input.value);
          },
        },
      },
      h("label", { class: "label", for: "pair-link", text: "Pairing link" }),
      input,
      h("button", { class: "button", type: "submit", text: "Pair with link" }),
    );
    return form;
  }

  return {
    element,
    /** No offer yet: explain how to get one. */
    showStart(text = "", tone = "info") {
      setMessage(text, tone);
      clear(body);
      body.append(
        h(
          "ol",
          { class: "steps" },
          h("li", {}, "On your computer run ", h("code", { text: "codexremote serve" }), "."),
          h("li", { text: "Scan the QR code it shows with the iPhone camera and open the link." }),
          h("li", { text: "Or paste the pairing link below." }),
        ),
        linkForm(),
      );
    },
    /** An offer is at hand: ask for this device's name. */
    showOffer(defaultName, text = "") {
      setMessage(text);
      clear(body);
      const input = h("input", {
        class: "input",
        id: "device-name",
        type: "text",
        value: defaultName,
        maxLength: 100,
        autocomplete: "off",
        enterKeyHint: "go",
        required: true,
      });
      body.append(
        h(
          "form",
          {
            class: "stack",
            on: {
              submit: (event) => {
                event.preventDefault();
                const name = input.value.trim();
                if (name) onPair(name);
                else input.focus();
              },
            },
          },
          h("label", { class: "label", for: "device-name", text: "Name this device" }),
          input,
          h("p", { class: "hint", text: "Your computer shows this name in its list of paired devices." }),
          h("button", { class: "button primary", type: "submit", text: "Pair" }),
          h("button", { class: "button quiet", type: "button", text: "Cancel", on: { click: () => onCancel() } }),
        ),
      );
    },
    /** The confirm request waits for the person at the computer. */
    showWaiting(code, deviceName) {
      setMessage("");
      clear(body);
      body.append(
        h(
          "div",
          { class: "waiting stack" },
          h("p", { text: "Confirm on your computer that it shows this code:" }),
          h("p", { class: "code", "aria-label": `Comparison code ${code.split("").join(" ")}`, text: `${code.slice(0, 3)} ${code.slice(3)}` }),
          h("p", { class: "hint" }, "Pairing as ", h("strong", { text: deviceName }), ". Waiting for your computer…"),
          h("div", { class: "spinner", "aria-hidden": "true" }),
        ),
      );
    },
    /** Paired: a short confirmation while the drawer loads. */
    showPaired(deviceName) {
      setMessage(`Paired as ${deviceName}.`, "ok");
      clear(body);
    },
  };
}
