// The phone simulator's page. What it shows comes from the server
// (/dev/phone/history: what Parley stored for the number), so a reload or a
// second browser sees the same conversation; only the chosen channel,
// number and name are kept in this browser. Text goes in as text, never as
// HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const KEEP = "parley.phone";
  const POLL_MS = 1000;
  const STATUS_TEXT = {
    queued: "◷ queued", sending: "◷ sending", sent: "✓ sent", delivered: "✓✓ delivered",
    read: "✓✓ read", failed: "✗ failed", undelivered: "✗ not delivered",
  };

  let who = "";
  const shown = new Map(); // message id -> its bubble
  const receipted = new Set(); // ids whose read receipt was sent
  const fileInfo = new Map(); // media URL -> Promise of {type, name}

  // ---------- who the customer is, kept across reloads ----------
  function restore() {
    try {
      const kept = JSON.parse(localStorage.getItem(KEEP) || "{}");
      for (const f of ["channel", "number", "name"]) if (typeof kept[f] === "string" && kept[f]) $(f).value = kept[f];
      if (typeof kept.receipts === "boolean") $("receipts").checked = kept.receipts;
    } catch (e) { /* a broken entry: start from the defaults */ }
  }
  function keep() {
    localStorage.setItem(KEEP, JSON.stringify({
      channel: $("channel").value, number: $("number").value, name: $("name").value, receipts: $("receipts").checked,
    }));
  }
  const identity = () => $("channel").value + ":" + $("number").value;

  // ---------- rendering ----------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k) e.append(k);
    return e;
  }

  function safeHref(u) {
    try {
      const url = new URL(u, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  // info learns a file's type and name from its headers when the message
  // does not carry them (an agent's attachment is known by URL only).
  function info(url, contentType) {
    if (contentType) return Promise.resolve({ type: contentType, name: "" });
    if (!fileInfo.has(url)) {
      fileInfo.set(url, fetch(url, { method: "HEAD" }).then((r) => {
        const m = /filename="([^"]*)"/.exec(r.headers.get("Content-Disposition") || "");
        return { type: r.ok ? r.headers.get("Content-Type") || "" : "", name: m ? m[1] : "" };
      }).catch(() => ({ type: "", name: "" })));
    }
    return fileInfo.get(url);
  }

  // mediaBlock shows a file as a thumbnail (images), a player (audio,
  // video) or a link, once its type is known.
  function mediaBlock(md) {
    const href = safeHref(md.url);
    const box = el("span", { class: "file" });
    if (!href) { box.textContent = "File (no address)"; return box; }
    const link = el("a", { href, target: "_blank", rel: "noopener noreferrer", class: "file-link", text: "File" });
    box.append(link);
    info(href, md.content_type).then(({ type, name }) => {
      link.textContent = "File: " + (name || type || "no name");
      if (type.startsWith("image/")) {
        link.textContent = "";
        link.append(el("img", { class: "thumb", src: href, alt: name || "image" }));
      } else if (type.startsWith("audio/") || type.startsWith("video/")) {
        box.prepend(el(type.startsWith("audio/") ? "audio" : "video", { class: "player", src: href, controls: "", preload: "none" }));
      }
      box.dataset.type = type;
    });
    return box;
  }

  function placeBlock(loc) {
    const lat = Number(loc.latitude);
    const lon = Number(loc.longitude);
    const name = [loc.label, loc.address].filter(Boolean).join(", ") || "Shared location";
    const href = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=16/" + lat + "/" + lon;
    return el("span", { class: "place" },
      el("a", { href, target: "_blank", rel: "noopener noreferrer", text: "Location: " + name }),
      el("span", { class: "coords", text: lat.toFixed(5) + ", " + lon.toFixed(5) }));
  }

  function statusText(m) {
    const s = STATUS_TEXT[m.status] || m.status;
    return m.error ? s + ": " + m.error : s;
  }

  function bubble(m) {
    const mine = m.direction === "in";
    const div = el("div", { class: "msg " + (mine ? "me" : "them"), "data-id": m.id });
    if (m.template) div.append(el("span", { class: "template-name", text: "Template: " + m.template }));
    if (m.body) div.append(el("span", { class: "text", text: m.body }));
    if (m.button) div.append(el("span", { class: "text", text: "Tapped: " + (m.button.text || m.button.payload || "") }));
    for (const md of m.media || []) div.append(mediaBlock(md));
    if (m.location) div.append(placeBlock(m.location));
    const meta = el("span", { class: "meta" }, el("time", { datetime: m.at, text: new Date(m.at).toLocaleTimeString() }));
    if (!mine) meta.append(" · ", el("span", { class: "status" }));
    div.append(meta);
    return div;
  }

  function setStatus(div, m) {
    const s = div.querySelector(".status");
    if (!s) return;
    s.textContent = statusText(m);
    s.className = "status status-" + m.status;
    div.dataset.status = m.status;
  }

  function render(messages) {
    const log = $("log");
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    let added = false;
    for (const m of messages) {
      let div = shown.get(m.id);
      if (!div) {
        div = bubble(m);
        shown.set(m.id, div);
        log.append(div);
        added = true;
      }
      setStatus(div, m);
    }
    if (added && atBottom) log.scrollTop = log.scrollHeight;
  }

  // ---------- read receipts ----------
  // WhatsApp tells the business when the customer has seen a message: while
  // this page is visible, each delivered message gets its "read".
  async function sendReceipts(messages) {
    if ($("channel").value !== "whatsapp" || !$("receipts").checked || document.visibilityState !== "visible") return;
    const ids = messages.filter((m) => m.direction === "out" && (m.status === "delivered" || m.status === "sent") && !receipted.has(m.id)).map((m) => m.id);
    if (!ids.length) return;
    ids.forEach((id) => receipted.add(id));
    const r = await post("/dev/phone/read", { channel: $("channel").value, number: $("number").value, ids });
    if (!r.ok) ids.forEach((id) => receipted.delete(id)); // try again next time
  }

  // ---------- the server ----------
  // showError says what went wrong; from says what it was about, so that
  // the next good answer of the same kind takes it away.
  let errorFrom = "";
  function showError(text, from = "send") {
    errorFrom = text ? from : "";
    $("error").textContent = text;
    $("error").hidden = !text;
  }

  function post(path, body) {
    return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  async function refresh() {
    if (identity() !== who) {
      who = identity();
      shown.clear();
      receipted.clear();
      $("log").textContent = "";
    }
    const asked = who;
    const q = new URLSearchParams({ channel: $("channel").value, number: $("number").value });
    try {
      const r = await fetch("/dev/phone/history?" + q);
      if (asked !== identity()) return; // the number changed while asking
      if (!r.ok) { showError((await r.json()).error || "could not read the conversation", "history"); return; }
      if (errorFrom === "history") showError("");
      const { messages } = await r.json();
      render(messages);
      await sendReceipts(messages);
    } catch (e) { /* the gateway may be restarting: try again next tick */ }
  }
  // poll refreshes now and then every POLL_MS; a call while a refresh is
  // running asks for one more right after it, so one chain of polls runs.
  let timer = null;
  let running = false;
  let rerun = false;
  async function poll() {
    clearTimeout(timer);
    if (running) { rerun = true; return; }
    running = true;
    try { await refresh(); } finally { running = false; }
    if (rerun) { rerun = false; poll(); return; }
    timer = setTimeout(poll, POLL_MS);
  }

  async function deliver(extra) {
    keep();
    const r = await post("/dev/phone/send", Object.assign({ channel: $("channel").value, number: $("number").value, name: $("name").value }, extra));
    const out = await r.json().catch(() => ({}));
    if (!r.ok) { showError(out.error || "send failed"); return false; }
    if (out.webhook_status !== 200) { showError("Parley answered the webhook with " + out.webhook_status); return false; }
    showError("");
    poll();
    return true;
  }

  async function sendText() {
    const body = $("body").value;
    if (!body.trim()) return;
    $("body").value = "";
    if (!(await deliver({ body }))) $("body").value = body;
  }

  async function sendFile() {
    const file = $("file").files[0];
    if (!file) return;
    $("file").value = "";
    const r = await fetch("/dev/phone/attachments?" + new URLSearchParams({ name: file.name }), {
      method: "POST", headers: { "Content-Type": file.type || "application/octet-stream", "X-Parley-Phone": "upload" }, body: file,
    });
    const up = await r.json().catch(() => ({}));
    if (!r.ok) { showError(up.error || "upload failed"); return; }
    const caption = $("body").value;
    if (await deliver({ body: caption, media: [up.id] })) $("body").value = "";
  }

  async function sendPlace() {
    const location = {
      latitude: Number($("lat").value), longitude: Number($("lon").value), label: $("label").value, address: $("address").value,
    };
    if ($("lat").value.trim() === "" || $("lon").value.trim() === "") { showError("Give a latitude and a longitude"); return; }
    if (await deliver({ location })) $("place").hidden = true;
  }

  restore();
  for (const f of ["channel", "number", "name", "receipts"]) $(f).addEventListener("change", () => { keep(); poll(); });
  $("compose").addEventListener("submit", (e) => { e.preventDefault(); sendText(); });
  $("body").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendText(); } });
  $("file").addEventListener("change", sendFile);
  $("place-open").addEventListener("click", () => { $("place").hidden = false; $("lat").focus(); });
  $("place-cancel").addEventListener("click", () => { $("place").hidden = true; });
  $("place").addEventListener("submit", (e) => { e.preventDefault(); sendPlace(); });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") poll(); });
  poll();
})();
