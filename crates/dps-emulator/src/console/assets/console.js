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

// --- Device activity (activity.rs): new attempts appear live over server-sent events. ---
// Each event's data is one attempt as JSON; its row is built with createElement and
// textContent only (never innerHTML), the same cells as the server renders.
document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("activity");
  if (!table || !table.dataset.events || !("EventSource" in window)) return;
  const body = table.tBodies[0];
  const capacity = Number(table.dataset.capacity) || 500;
  const live = document.getElementById("activity-live");
  const empty = document.getElementById("activity-empty");
  const text = (tag, value, className) => {
    const element = document.createElement(tag);
    element.textContent = value;
    if (className) element.className = className;
    return element;
  };
  const cell = (label, child, className) => {
    const td = document.createElement("td");
    td.dataset.label = label;
    if (className) td.className = className;
    td.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    return td;
  };
  const status = (label, off) => {
    if (!live) return;
    live.hidden = false;
    live.textContent = label;
    live.classList.toggle("off", off);
  };
  const url = new URL(table.dataset.events, window.location.href);
  url.searchParams.set("after", table.dataset.after || "0");
  const source = new EventSource(url.toString());
  source.addEventListener("open", () => status("Live", false));
  source.addEventListener("error", () => {
    status(source.readyState === EventSource.CLOSED
      ? "Not live: reload the page to see new attempts"
      : "Reconnecting…", true);
  });
  source.addEventListener("message", (event) => {
    let a;
    try { a = JSON.parse(event.data); } catch { return; }
    if (!a || typeof a !== "object") return;
    const tr = document.createElement("tr");
    tr.className = "new";
    tr.dataset.seq = String(a.seq);
    tr.dataset.id = String(a.registrationId);
    const time = text("time", String(a.time));
    time.dateTime = String(a.time);
    tr.appendChild(cell("Time (UTC)", time, "nowrap"));
    tr.appendChild(cell("Transport", String(a.transport), "nowrap"));
    tr.appendChild(cell("Registration ID", text("code", String(a.registrationId)), "rid"));
    tr.appendChild(cell("Outcome", text("span", String(a.outcome), a.ok ? "badge ok" : "badge bad"), "nowrap"));
    tr.appendChild(cell("Code", a.code == null ? "-" : String(a.code), "nowrap"));
    tr.appendChild(cell("Hub or reason", String(a.detail), "reason"));
    body.insertBefore(tr, body.firstChild);
    while (body.rows.length > capacity) body.deleteRow(-1);
    if (empty) empty.hidden = true;
  });
});
// --- end Device activity ---
