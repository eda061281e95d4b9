// JobMonitor front end (anywidget ESM): state, progress, message, error with hint, a live
// preview and Cancel / Open comparison / Reproduce.
//
// Preview frames arrive as binary buffers (the `frame` trait: a DataView, never a JSON
// array); each one is acknowledged with a custom message `{type: "ack", id}` once decoded,
// so the kernel sends the next frame only then (see widgets/monitor.py for the timeout).
//
// Cancel does not go through the kernel when it can avoid it: widget messages wait while the
// kernel is busy, so the button POSTs to the server extension
// (`{baseUrl}promethium/jobs/<id>/cancel`, with the `_xsrf` cookie as `X-XSRFToken` and the
// page's token), which sets the job store's cancel flag. Without a Jupyter server (panel
// serve, VS Code) or when that request fails, it falls back to a `{type: "cancel"}` message.
//
// Reproduce (enabled once the job completed) sends `{type: "reproduce"}`; Python writes the
// notebook that re-runs the job and sets `reproduced` (its path) or `reproduce_error`.
//
// Messages to Python go through `tell`: anywidget's `model.send` (a comm message) where the
// model has one; Panel's AnyWidgetComponent has none, so there they are written to the
// `inbox` property (each with a new `seq`, so every one is a change), which
// widgets/serve.py hands to the same handler on the Panel server.

const FRAME_TYPES = { jpeg: "image/jpeg", png: "image/png" };
const TERMINAL = new Set(["completed", "failed", "canceled"]);

/** The page's Jupyter config (what JupyterLab's PageConfig reads), or null. */
function pageConfig() {
  const el = document.getElementById("jupyter-config-data");
  if (!el) {
    return null;
  }
  try {
    return JSON.parse(el.textContent || "{}");
  } catch (err) {
    return null;
  }
}

/** The value of a cookie, or null. */
function cookie(name) {
  const found = document.cookie
    .split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

/** The cancel route of a job under the server's base URL (works under a JupyterHub prefix). */
export function cancelUrl(baseUrl, jobId) {
  const base = new URL(baseUrl || "/", window.location.href);
  if (!base.pathname.endsWith("/")) {
    base.pathname += "/";
  }
  return new URL(`promethium/jobs/${encodeURIComponent(jobId)}/cancel`, base).toString();
}

/**
 * Ask the server extension to cancel the job; true when it answered 2xx.
 * False (nothing thrown) when there is no Jupyter server or the request failed.
 */
export async function cancelViaServer(jobId) {
  const config = pageConfig();
  if (!config || config.baseUrl === undefined) {
    return false;
  }
  const headers = { Accept: "application/json" };
  const xsrf = cookie("_xsrf");
  if (xsrf) {
    headers["X-XSRFToken"] = xsrf;
  }
  if (config.token) {
    headers["Authorization"] = `token ${config.token}`;
  }
  try {
    const response = await fetch(cancelUrl(config.baseUrl, jobId), {
      method: "POST",
      headers,
      credentials: "same-origin",
    });
    return response.ok;
  } catch (err) {
    return false;
  }
}

let sequence = 0;

/** Send `msg` to Python: a custom message, or the `inbox` property (Panel). */
export function tell(model, msg) {
  if (typeof model.send === "function") {
    model.send(msg);
  } else {
    sequence += 1;
    model.set("inbox", { ...msg, seq: sequence });
    model.save_changes();
  }
}

function make(tag, className, children = []) {
  const el = document.createElement(tag);
  el.className = className;
  el.append(...children);
  return el;
}

function render({ model, el }) {
  const title = make("span", "pl-title");
  const badge = make("span", "pl-badge");
  const fill = make("div", "pl-progress-fill");
  const bar = make("div", "pl-progress", [fill]);
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  const percent = make("span", "pl-percent");
  const message = make("div", "pl-message");
  const errorHead = make("div", "pl-error-head");
  const errorHint = make("div", "pl-error-hint");
  const error = make("div", "pl-error", [errorHead, errorHint]);
  const img = make("img", "pl-preview-img");
  img.alt = "live preview of the job's result";
  const caption = make("figcaption", "pl-preview-caption");
  const figure = make("figure", "pl-preview", [img, caption]);
  const cancel = make("button", "pl-button pl-cancel", ["Cancel"]);
  const compare = make("button", "pl-button pl-compare", ["Open comparison"]);
  const reproduce = make("button", "pl-button pl-reproduce", ["Reproduce"]);
  reproduce.title = "write the notebook that re-runs this job with the same parameters";
  const note = make("span", "pl-note");
  const reproduced = make("div", "pl-reproduced");
  const root = make("div", "pl-widget pl-monitor", [
    make("div", "pl-header", [title, badge]),
    make("div", "pl-progress-row", [bar, percent]),
    message,
    error,
    figure,
    make("div", "pl-actions", [cancel, compare, reproduce, note]),
    reproduced,
  ]);
  el.append(root);

  let objectUrl = null;
  let canceling = false;

  function update() {
    const state = model.get("state") || "queued";
    const kind = model.get("kind") || "job";
    title.textContent = `${kind} · ${model.get("job_id")}`;
    badge.textContent = state;
    badge.dataset.state = state;
    root.dataset.state = state;
    const pct = Math.round(100 * Math.min(1, Math.max(0, model.get("progress") || 0)));
    fill.style.width = `${pct}%`;
    bar.setAttribute("aria-valuenow", String(pct));
    percent.textContent = `${pct} %`;
    message.textContent = model.get("message") || "";
    const err = model.get("error");
    if (err && err.code) {
      errorHead.textContent = `${err.code}: ${err.message || ""}`;
      errorHint.textContent = err.hint ? `Hint: ${err.hint}` : "";
      error.hidden = false;
    } else {
      error.hidden = true;
    }
    const done = TERMINAL.has(state);
    cancel.disabled = done || canceling || state === "stopping";
    compare.disabled = !model.get("can_compare");
    compare.hidden = !model.get("comparable");
    reproduce.disabled = !model.get("can_reproduce");
    if (done) {
      note.textContent = "";
    }
  }

  function showReproduced() {
    const path = model.get("reproduced") || "";
    const err = model.get("reproduce_error") || "";
    reproduced.textContent = err || (path ? `Notebook: ${path}` : "");
    reproduced.dataset.error = err ? "true" : "false";
    reproduced.hidden = !(err || path);
  }

  function showFrame() {
    const data = model.get("frame");
    const id = model.get("frame_id");
    const type = FRAME_TYPES[model.get("frame_format")];
    if (!data || !data.byteLength || !type) {
      figure.hidden = true;
      return;
    }
    const url = URL.createObjectURL(new Blob([data], { type }));
    const ack = () => {
      if (objectUrl) {
        URL.revokeObjectURL(objectUrl);
      }
      objectUrl = url;
      tell(model, { type: "ack", id });
    };
    img.onload = ack;
    img.onerror = ack; // a broken frame must not hold back the next one
    img.src = url;
    const [width, height] = model.get("frame_size") || [0, 0];
    caption.textContent =
      `${model.get("frame_format").toUpperCase()} ${width}×${height}` +
      (model.get("frame_format") === "png" ? " · final (lossless)" : " · live");
    figure.hidden = false;
  }

  async function onCancel() {
    canceling = true;
    update();
    note.textContent = "canceling…";
    if (await cancelViaServer(model.get("job_id"))) {
      note.textContent = "cancel asked through the Jupyter server";
    } else {
      tell(model, { type: "cancel" });
      note.textContent = model.send ? "cancel asked through the kernel"
        : "cancel asked through the Panel server";
    }
  }

  cancel.addEventListener("click", onCancel);
  compare.addEventListener("click", () => tell(model, { type: "compare" }));
  reproduce.addEventListener("click", () => {
    reproduced.hidden = false;
    reproduced.dataset.error = "false";
    reproduced.textContent = "writing the reproduce notebook…";
    tell(model, { type: "reproduce" });
  });

  const names = ["state", "kind", "job_id", "progress", "message", "error", "can_compare",
    "comparable", "can_reproduce"];
  for (const name of names) {
    model.on(`change:${name}`, update);
  }
  model.on("change:frame_id", showFrame);
  model.on("change:reproduced", showReproduced);
  model.on("change:reproduce_error", showReproduced);
  update();
  showFrame();
  showReproduced();

  return () => {
    for (const name of names) {
      model.off(`change:${name}`, update);
    }
    model.off("change:frame_id", showFrame);
    model.off("change:reproduced", showReproduced);
    model.off("change:reproduce_error", showReproduced);
    if (objectUrl) {
      URL.revokeObjectURL(objectUrl);
    }
  };
}

export default { render };
