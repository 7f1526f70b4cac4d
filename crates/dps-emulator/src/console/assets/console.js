// dps-rs emulator console: progressive enhancement only; every page works without script.
// No inline script anywhere (the Content-Security-Policy forbids it): behaviour hangs off
// data- attributes.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Reveal / hide a secret input (connection strings, keys).
  for (const button of document.querySelectorAll("button[data-reveal]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const input = document.getElementById(button.dataset.reveal);
      if (!input) return;
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = show ? "Hide" : "Show";
      button.setAttribute("aria-pressed", String(show));
    });
  }
  // One-click copy of a field's value.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      if (!input) return;
      try {
        await navigator.clipboard.writeText(input.value);
        button.textContent = "Copied";
      } catch {
        input.type = "text";
        input.select();
        button.textContent = "Press Ctrl+C";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  }
});
