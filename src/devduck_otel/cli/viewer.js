/* devduck-otel timeline. Data comes from the JSON element; text is only ever set with
   textContent. The canvas draws lanes, spans, marks and flags; the event list is
   virtualised (a fixed pool of rows), so the DOM stays small for any session size. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const DATA = JSON.parse($("devduck-data").textContent);
  const LAYERS = DATA.layers;
  const EV = DATA.events;
  const N = EV.t.length;
  const COLORS = { agent: "#c678dd", tool: "#4fb3c8", sys: "#8cc265" };
  const SNAP = "#f2c14e", ERR = "#ff5f6d";
  const LABEL_W = 92, AXIS_H = 24, FLAG_H = 24, MARK_H = 22, ROW_H = 16, LANE_GAP = 6;
  const LIST_ROW_H = 22, MAX_TEXT = 200000, RIGHT_PAD = 34, MIN_LANE_H = 40;
  const SNAP_TYPE = DATA.types.indexOf("snapshot.created");
  const ERRORS = DATA.errors || [];
  const errEvent = new Map(), errSpan = new Map();
  ERRORS.forEach((x, k) => {
    if (x.ev != null) errEvent.set(x.ev, k);
    if (x.sp != null) errSpan.set(x.sp, k);
    for (const i of x.also || []) errEvent.set(i, k); /* a message reporting the same failure */
  });
  const laneErrors = LAYERS.map(() => 0);
  for (const x of ERRORS) laneErrors[x.ev != null ? EV.l[x.ev] : DATA.spans[x.sp].l]++;
  const chat = DevduckChat, el = chat.el;
  const SNAP_IDS = DATA.snapshots.map((s) => s.id);
  const SNAP_ORDER = DATA.snapshots.map((s, k) => k).filter((k) => DATA.snapshots[k].t != null)
    .sort((a, b) => DATA.snapshots[a].t - DATA.snapshots[b].t || a - b);

  let tMax = 1;
  if (N) tMax = Math.max(tMax, EV.t[N - 1]);
  for (const s of DATA.spans) tMax = Math.max(tMax, s.e || 0);
  for (const s of DATA.snapshots) if (s.t != null) tMax = Math.max(tMax, s.t);
  const pad = tMax * 0.01;
  const FULL = [-pad, tMax + pad];

  const laneRows = LAYERS.map(() => 0);
  for (const s of DATA.spans) laneRows[s.l] = Math.max(laneRows[s.l], s.r + 1);

  const state = {
    layers: new Set(LAYERS), type: -1, text: "", view: FULL.slice(),
    filtered: new Int32Array(0), lanes: LAYERS.map(() => new Int32Array(0)),
    selected: null, layout: null,
  };
  let lower = null;

  /* ---------- formatting ---------- */
  function fmtOffset(us) {
    if (us == null) return "";
    const a = Math.abs(us);
    if (a >= 1e6) return (us / 1e6).toFixed(3) + "s";
    if (a >= 1e3) return (us / 1e3).toFixed(2) + "ms";
    return us.toFixed(0) + "µs";
  }
  function fmtTick(t, step) {
    if (Math.abs(t) < step / 2) return "0";
    const range = state.view[1] - state.view[0];
    const unit = range >= 2e6 ? [1e6, "s"] : range >= 2e3 ? [1e3, "ms"] : [1, "µs"];
    const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step / unit[0]) + 1e-9)));
    return (t / unit[0]).toFixed(digits) + unit[1];
  }
  function fmtWall(us) {
    if (us == null) return "";
    const ms = Number(DATA.t0) / 1e6 + us / 1e3;
    return new Date(ms).toISOString();
  }

  /* ---------- filters ---------- */
  function applyFilters() {
    const want = LAYERS.map((l) => state.layers.has(l));
    const q = state.text.toLowerCase();
    if (q && !lower) lower = EV.s.map((s) => s.toLowerCase());
    const out = new Int32Array(N);
    const lanes = LAYERS.map(() => []);
    let n = 0;
    for (let i = 0; i < N; i++) {
      const l = EV.l[i];
      if (!want[l]) continue;
      if (state.type >= 0 && EV.y[i] !== state.type) continue;
      if (q && lower[i].indexOf(q) < 0 && DATA.types[EV.y[i]].indexOf(q) < 0) continue;
      out[n++] = i;
      lanes[l].push(i);
    }
    state.filtered = out.subarray(0, n);
    state.lanes = lanes.map((a) => Int32Array.from(a));
    renderList();
    draw();
    updateStatus();
  }

  function buildFilters() {
    const box = $("layer-filter");
    LAYERS.forEach((layer) => {
      const label = el("label");
      const input = el("input");
      input.type = "checkbox"; input.checked = true; input.id = "layer-" + layer; input.value = layer;
      input.addEventListener("change", () => {
        if (input.checked) state.layers.add(layer); else state.layers.delete(layer);
        applyFilters();
      });
      const sw = el("span", null, "swatch");
      sw.style.background = COLORS[layer];
      label.append(input, sw, el("span", layer));
      box.append(label);
    });
    const select = $("type-filter");
    DATA.types.forEach((t, i) => { const o = el("option", t); o.value = String(i); select.append(o); });
    select.addEventListener("change", () => {
      state.type = select.value === "" ? -1 : Number(select.value);
      applyFilters();
    });
    let timer = 0;
    $("text-filter").addEventListener("input", (e) => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.text = e.target.value; applyFilters(); }, 120);
    });
  }

  function updateStatus() {
    const n = state.filtered.length;
    $("list-status").textContent = n === N ? N + " events" : "showing " + n + " of " + N + " events";
  }

  /* ---------- geometry ---------- */
  function layout() {
    const wrap = $("canvas-wrap");
    const width = Math.max(300, wrap.clientWidth);
    let y = AXIS_H + FLAG_H;
    const lanes = [];
    LAYERS.forEach((layer, l) => {
      if (!state.layers.has(layer)) return;
      const h = Math.max(MIN_LANE_H, MARK_H + laneRows[l] * ROW_H + LANE_GAP);
      lanes.push({ l, y, h, spansY: y + MARK_H });
      y += h;
    });
    state.layout = { width, height: y + 4, lanes };
    return state.layout;
  }
  const plotW = () => state.layout.width - LABEL_W - RIGHT_PAD;
  const xOf = (t) => LABEL_W + ((t - state.view[0]) / (state.view[1] - state.view[0])) * plotW();
  const tAt = (x) => state.view[0] + ((x - LABEL_W) / plotW()) * (state.view[1] - state.view[0]);

  function lowerBound(arr, t) {
    let lo = 0, hi = arr.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (EV.t[arr[mid]] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  /* ---------- drawing ---------- */
  const canvas = $("timeline-canvas");
  const flagBox = $("flags");
  const flags = DevduckFlags.create(flagBox, (g) => {
    if (g.members.length === 1) select("snapshot", g.members[0], true); else showCluster(g.members);
  });
  const ctx = canvas.getContext("2d");
  let pending = false;
  function draw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paint(); });
  }

  function niceStep(range) {
    const raw = range / 8, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }

  function paint() {
    const L = layout();
    const dpr = window.devicePixelRatio || 1;
    canvas.style.height = L.height + "px";
    canvas.width = Math.round(L.width * dpr);
    canvas.height = Math.round(L.height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#15171c"; ctx.fillRect(0, 0, L.width, L.height);
    ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
    paintAxis(L);
    L.lanes.forEach((lane, k) => paintLane(lane, k));
    paintSnapshots(L);
    paintSelection(L);
  }

  function paintAxis(L) {
    const [v0, v1] = state.view, step = niceStep(v1 - v0);
    ctx.fillStyle = "#8a93a3"; ctx.strokeStyle = "#2c313a";
    for (let t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
      const x = Math.round(xOf(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, AXIS_H - 6); ctx.lineTo(x, L.height); ctx.stroke();
      ctx.fillText(fmtTick(t, step), x + 3, AXIS_H / 2);
    }
    ctx.fillText("snapshots", 8, AXIS_H + FLAG_H / 2);
  }

  function paintLane(lane, k) {
    const layer = LAYERS[lane.l], color = COLORS[layer];
    ctx.fillStyle = k % 2 ? "#1a1d23" : "#1d2027";
    ctx.fillRect(0, lane.y, state.layout.width, lane.h - 2);
    ctx.fillStyle = color; ctx.font = "600 12px system-ui, sans-serif";
    ctx.fillText(layer, 10, lane.y + MARK_H / 2);
    ctx.font = "10px system-ui, sans-serif"; ctx.fillStyle = "#8a93a3";
    ctx.fillText(state.lanes[lane.l].length + " ev", 10, lane.y + MARK_H / 2 + 13);
    const failed = laneErrors[lane.l];
    if (failed) {
      ctx.fillStyle = ERR; ctx.font = "600 10px system-ui, sans-serif";
      ctx.fillText("✖ " + failed + (failed === 1 ? " error" : " errors"), 10, lane.y + MARK_H / 2 + 26);
    }
    ctx.font = "11px system-ui, sans-serif";
    ctx.save(); ctx.beginPath(); ctx.rect(LABEL_W, lane.y, plotW() + 6, lane.h); ctx.clip();
    paintSpans(lane, color);
    paintMarks(lane, color);
    ctx.restore();
  }

  function paintSpans(lane, color) {
    const last = {};
    DATA.spans.forEach((s, k) => {
      if (s.l !== lane.l) return;
      const x0 = xOf(s.t), x1 = xOf(s.e);
      if (x1 < LABEL_W || x0 > state.layout.width) return;
      const w = Math.max(1, x1 - x0), y = lane.spansY + s.r * ROW_H + 2;
      if (w < 2 && !errSpan.has(k)) { const px = Math.floor(x0); if (last[s.r] === px) return; last[s.r] = px; }
      const failed = errSpan.has(k);
      ctx.globalAlpha = failed ? 0.85 : 0.45; ctx.fillStyle = failed ? ERR : color;
      ctx.fillRect(x0, y, w, ROW_H - 4);
      ctx.globalAlpha = 1;
      if (failed) { ctx.strokeStyle = ERR; ctx.strokeRect(x0 + 0.5, y + 0.5, Math.max(1, w - 1), ROW_H - 5); }
      if (w > 40) {
        ctx.fillStyle = "#f4f5f7";
        ctx.save(); ctx.beginPath(); ctx.rect(x0, y, w, ROW_H - 4); ctx.clip();
        ctx.fillText(s.n, Math.max(x0, LABEL_W) + 4, y + (ROW_H - 4) / 2);
        ctx.restore();
      }
    });
  }

  /* One mark per pixel column; its opacity grows with how many events share it. */
  function paintMarks(lane, color) {
    const arr = state.lanes[lane.l], end = state.view[1];
    const width = Math.ceil(state.layout.width) + 1;
    const counts = new Uint32Array(width), snaps = new Uint8Array(width), fails = new Uint8Array(width);
    let most = 0;
    for (let k = lowerBound(arr, state.view[0]); k < arr.length; k++) {
      const i = arr[k], t = EV.t[i];
      if (t > end) break;
      const px = Math.floor(xOf(t));
      if (px < 0 || px >= width) continue;
      most = Math.max(most, ++counts[px]);
      if (EV.y[i] === SNAP_TYPE) snaps[px] = 1;
      if (errEvent.has(i)) fails[px] = 1;
    }
    const scale = Math.log(1 + most) || 1;
    for (let px = 0; px < width; px++) {
      if (!counts[px]) continue;
      ctx.globalAlpha = 0.4 + 0.6 * (Math.log(1 + counts[px]) / scale);
      ctx.fillStyle = snaps[px] ? SNAP : color;
      ctx.fillRect(px, lane.y + 4, 2, MARK_H - 8);
    }
    ctx.globalAlpha = 1; ctx.fillStyle = ERR;
    for (let px = 0; px < width; px++) if (fails[px]) ctx.fillRect(px - 1, lane.y + 1, 4, MARK_H - 2);
  }

  /* Dashed lines on the canvas; the flags are buttons (viewer_flags.js), clustered. */
  function paintSnapshots(L) {
    const chosen = selectedSnapshot(), items = [];
    ctx.strokeStyle = SNAP; ctx.setLineDash([3, 3]);
    for (const k of SNAP_ORDER) {
      const x = Math.round(xOf(DATA.snapshots[k].t)) + 0.5;
      if (x < LABEL_W - 1 || x > L.width) continue;
      items.push({ k, x: x - 0.5 });
      ctx.globalAlpha = k === chosen ? 0.9 : 0.35;
      ctx.beginPath(); ctx.moveTo(x, AXIS_H + 4); ctx.lineTo(x, L.height); ctx.stroke();
    }
    ctx.setLineDash([]); ctx.globalAlpha = 1;
    flagBox.style.width = L.width + "px";
    flags.update(items, SNAP_IDS, L.width - 2, chosen, (k) => describe({ kind: "snapshot", index: k }));
  }

  function paintSelection(L) {
    const sel = state.selected;
    if (!sel || sel.kind === "snapshot") return;
    ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 2;
    if (sel.kind === "event") {
      const lane = L.lanes.find((ln) => ln.l === EV.l[sel.index]);
      if (!lane) return;
      const x = xOf(EV.t[sel.index]);
      ctx.strokeRect(x - 3, lane.y + 2, 8, MARK_H - 4);
    } else {
      const s = DATA.spans[sel.index], lane = L.lanes.find((ln) => ln.l === s.l);
      if (!lane) return;
      const x0 = xOf(s.t), w = Math.max(2, xOf(s.e) - x0);
      ctx.strokeRect(x0, lane.spansY + s.r * ROW_H + 1, w, ROW_H - 2);
    }
    ctx.lineWidth = 1;
  }

  /* ---------- hit testing ---------- */
  function hit(x, y) {
    const L = state.layout;
    if (!L || x < LABEL_W - 4) return null;
    if (y >= AXIS_H && y < AXIS_H + FLAG_H) return null;  /* the flag buttons take these clicks */
    const lane = L.lanes.find((ln) => y >= ln.y && y < ln.y + ln.h);
    if (!lane) return null;
    if (y < lane.spansY) return hitEvent(lane.l, x);
    const row = Math.floor((y - lane.spansY) / ROW_H);
    let best = null;
    DATA.spans.forEach((s, k) => {
      if (s.l !== lane.l || s.r !== row) return;
      const x0 = xOf(s.t), x1 = Math.max(xOf(s.e), x0 + 1);
      if (x >= x0 - 2 && x <= x1 + 2 && (!best || x1 - x0 < best.w)) best = { kind: "span", index: k, w: x1 - x0 };
    });
    return best;
  }

  function hitEvent(l, x) {
    const arr = state.lanes[l];
    if (!arr.length) return null;
    const k = lowerBound(arr, tAt(x));
    let best = null;
    for (const c of [k - 1, k, k + 1]) {
      if (c < 0 || c >= arr.length) continue;
      const d = Math.abs(xOf(EV.t[arr[c]]) - x);
      if (d <= 5 && (!best || d < best.d)) best = { kind: "event", index: arr[c], d };
    }
    return best;
  }

  function describe(h) {
    if (h.kind === "event") return DATA.types[EV.y[h.index]] + "  " + EV.s[h.index];
    if (h.kind === "span") { const s = DATA.spans[h.index]; return stepLabel(s) + s.n + "  " + fmtOffset(s.e - s.t); }
    const s = DATA.snapshots[h.index];
    return "snapshot #" + s.id + "  " + (s.d.description || "");
  }

  /* ---------- selection and details ---------- */
  function select(kind, index, scroll) {
    state.selected = { kind, index };
    if (kind === "event") showEvent(index, scroll);
    else if (kind === "span") showSpan(index);
    else showSnapshot(index, [], scroll);
    renderList();
    draw();
  }

  function snapshotOfEvent(i) {
    if (EV.y[i] !== SNAP_TYPE || !EV.d[i].data) return -1;
    return DATA.snapshots.findIndex((x) => x.id === EV.d[i].data.snapshot_id);
  }
  function selectedSnapshot() {
    const sel = state.selected;
    if (!sel) return -1;
    if (sel.kind === "snapshot") return sel.index;
    return sel.kind === "event" ? snapshotOfEvent(sel.index) : -1;
  }

  function showDetails(title, fields, obj, failure) {
    $("details-title").textContent = title;
    const banner = $("details-error");
    banner.hidden = failure == null;
    banner.textContent = failure == null ? "" : "✖ error: " + failure;
    $("details").classList.toggle("failed", failure != null);
    const dl = $("details-fields");
    dl.replaceChildren();
    for (const [k, v] of fields) dl.append(el("dt", k), el("dd", v == null ? "" : v));
    $("details-extra").replaceChildren();
    $("details").scrollTop = 0;
    let text = obj === undefined ? "" : JSON.stringify(obj, null, 2);
    if (text.length > MAX_TEXT) text = text.slice(0, MAX_TEXT) + "\n… truncated";
    $("details-json").textContent = text;
  }

  function errorFields(k) {
    if (k == null) return [];
    const x = ERRORS[k];
    return [["error", (k + 1) + " of " + ERRORS.length + ": " + x.m]];
  }

  function showEvent(i, scroll) {
    const d = EV.d[i], type = DATA.types[EV.y[i]], failed = errEvent.get(i);
    const fields = [["event", "#" + i], ["time", fmtWall(EV.t[i])], ["offset", fmtOffset(EV.t[i])],
      ["layer", LAYERS[EV.l[i]]], ["type", type], ["trace id", d.trace_id], ["span id", d.span_id],
      ["parent span", d.parent_span_id]].concat(errorFields(failed));
    if (failed != null && ERRORS[failed].sp != null) fields.push(["failed span", DATA.spans[ERRORS[failed].sp].n]);
    if (scroll) scrollToEvent(i);
    const snap = snapshotOfEvent(i);
    if (snap >= 0) { showSnapshot(snap, [["event", "#" + i]], false); return; }
    showDetails(type + " · " + EV.s[i], fields, d.data, failed == null ? null : ERRORS[failed].m);
  }

  function showSpan(k) {
    const s = DATA.spans[k], d = s.d, failed = errSpan.get(k);
    showDetails(s.n, [["span", d.span_id], ["trace id", d.trace_id], ["parent span", d.parent_span_id],
      ["layer", LAYERS[s.l]], ["start", fmtWall(s.t)], ["duration", fmtOffset(s.e - s.t)],
      ["status", d.status ? (failed != null ? "ERROR " : String(d.status.code)) + (d.status.message ? " " + d.status.message : "") : ""]]
      .concat(errorFields(failed)), d.attributes, failed == null ? null : ERRORS[failed].m);
  }

  /* A snapshot: what changed since the previous one, its messages as a chat, then its
     state and environment folded. */
  function showSnapshot(k, extra, scroll) {
    const s = DATA.snapshots[k], prev = k > 0 ? DATA.snapshots[k - 1] : null;
    const diff = chat.diff(prev, s);
    showDetails("snapshot #" + s.id + " · " + (s.d.description || ""), [["snapshot", "#" + s.id + " (" + (k + 1) + " of " + DATA.snapshots.length + ")"],
      ["time", fmtWall(s.t)], ["offset", fmtOffset(s.t)], ["messages", s.m.length],
      ["description", s.d.description || ""]].concat(extra), undefined, null);
    const messages = s.m.map((m) => DATA.messages[m]);
    $("details-extra").append(chat.changes(diff), chat.chat(messages, diff ? diff.newFrom : null, s.d.system_prompt),
      ...chat.rest(s.d));
    if (scroll) {
      const ev = snapshotEvent(k);
      if (ev >= 0) scrollToEvent(ev);
    }
  }
  function snapshotEvent(k) {
    const id = DATA.snapshots[k].id;
    if (SNAP_TYPE < 0) return -1;
    for (let i = 0; i < N; i++) if (EV.y[i] === SNAP_TYPE && EV.d[i].data && EV.d[i].data.snapshot_id === id) return i;
    return -1;
  }

  /* A cluster flag: list its snapshots (each a button) and zoom in on them. */
  function showCluster(members) {
    const first = DATA.snapshots[members[0]], last = DATA.snapshots[members[members.length - 1]];
    showDetails(members.length + " snapshots · #" + first.id + " to #" + last.id, [], undefined, null);
    const list = el("ul", null, "cluster-list");
    list.id = "cluster-list";
    for (const k of members) {
      const b = el("button", "#" + DATA.snapshots[k].id + "  " + (DATA.snapshots[k].d.description || ""));
      b.type = "button";
      b.addEventListener("click", () => select("snapshot", k, true));
      const li = el("li");
      li.append(b);
      list.append(li);
    }
    $("details-extra").append(list);
    zoomTo(first.t, last.t);
  }

  function positionInList(i) {
    const f = state.filtered;
    let lo = 0, hi = f.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (f[mid] < i) lo = mid + 1; else hi = mid; }
    return lo < f.length && f[lo] === i ? lo : -1;
  }

  function scrollToEvent(i) {
    const pos = positionInList(i), list = $("event-list");
    if (pos < 0) return;
    const top = pos * LIST_ROW_H;
    if (top < list.scrollTop || top > list.scrollTop + list.clientHeight - LIST_ROW_H) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 2);
    }
  }

  /* ---------- virtualised list ---------- */
  const list = $("event-list"), spacer = $("event-spacer");
  const pool = [];
  function makeRow() {
    const row = el("div", null, "row");
    row.setAttribute("role", "listitem");
    row.append(el("span", null, "c-idx"), el("span", null, "c-time"), el("span", null, "c-layer"),
      el("span", null, "c-type"), el("span", null, "c-sum"));
    row.addEventListener("click", () => { list.focus(); select("event", Number(row.dataset.event), false); });
    spacer.append(row);
    pool.push(row);
  }

  function renderList() {
    const f = state.filtered, n = f.length;
    spacer.style.height = n * LIST_ROW_H + "px";
    const first = Math.max(0, Math.floor(list.scrollTop / LIST_ROW_H) - 4);
    const count = Math.ceil((list.clientHeight || 400) / LIST_ROW_H) + 8;
    while (pool.length < count) makeRow();
    const sel = state.selected && state.selected.kind === "event" ? state.selected.index : -1;
    pool.forEach((row, k) => {
      const pos = first + k;
      if (k >= count || pos >= n) { row.hidden = true; row.removeAttribute("data-event"); return; }
      const i = f[pos], c = row.children;
      row.hidden = false;
      row.style.transform = "translateY(" + pos * LIST_ROW_H + "px)";
      row.dataset.event = String(i);
      row.dataset.layer = LAYERS[EV.l[i]];
      row.classList.toggle("selected", i === sel);
      row.classList.toggle("snapshot", EV.y[i] === SNAP_TYPE);
      row.classList.toggle("error", errEvent.has(i));
      c[0].textContent = String(i);
      c[1].textContent = fmtOffset(EV.t[i]);
      c[2].textContent = LAYERS[EV.l[i]];
      c[3].textContent = (EV.y[i] === SNAP_TYPE ? "⚑ " : errEvent.has(i) ? "✖ " : "") + DATA.types[EV.y[i]];
      c[4].textContent = EV.s[i];
    });
  }

  function moveSelection(delta) {
    const f = state.filtered;
    if (!f.length) return;
    const cur = state.selected && state.selected.kind === "event" ? positionInList(state.selected.index) : -1;
    const pos = Math.min(f.length - 1, Math.max(0, cur + delta));
    select("event", f[pos], true);
  }

  /* ---------- interaction ---------- */
  function zoom(factor, centerT) {
    const [v0, v1] = state.view, c = centerT == null ? (v0 + v1) / 2 : centerT;
    const span = Math.min(FULL[1] - FULL[0], Math.max(1, (v1 - v0) * factor));
    let a = c - (c - v0) * (span / (v1 - v0));
    a = Math.max(FULL[0], Math.min(a, FULL[1] - span));
    state.view = [a, a + span];
    draw();
  }

  /* Show [a, b] across most of the plot (a single time: centred, zoomed in). */
  function zoomTo(a, b) {
    if (a == null) return;
    const full = FULL[1] - FULL[0];
    const span = Math.min(full, Math.max(1, (b - a) / 0.6, b === a ? (state.view[1] - state.view[0]) / 8 : 0));
    const c = (a + b) / 2, start = Math.max(FULL[0], Math.min(c - span / 2, FULL[1] - span));
    state.view = [start, start + span];
    draw();
  }
  /* Pan (never zoom) so that time t is in view. */
  function reveal(t) {
    if (t == null) return;
    const [v0, v1] = state.view, w = v1 - v0;
    if (t >= v0 + w * 0.02 && t <= v1 - w * 0.05) return;
    const start = Math.max(FULL[0], Math.min(t - w / 2, FULL[1] - w));
    state.view = [start, start + w];
  }

  /* ---------- stepping: snapshots and errors ---------- */
  function selectedTime() {
    const sel = state.selected;
    if (!sel) return null;
    if (sel.kind === "event") return EV.t[sel.index];
    if (sel.kind === "span") return DATA.spans[sel.index].t;
    return DATA.snapshots[sel.index].t;
  }
  function stepSnapshot(delta) {
    const order = SNAP_ORDER;
    if (!order.length) return;
    const cur = selectedSnapshot();
    let pos = order.indexOf(cur);
    if (pos >= 0) pos = Math.max(0, Math.min(order.length - 1, pos + delta));
    else {
      const t = selectedTime();
      if (t == null) pos = delta > 0 ? 0 : order.length - 1;
      else if (delta > 0) { pos = order.findIndex((k) => DATA.snapshots[k].t >= t); if (pos < 0) pos = order.length - 1; }
      else { pos = order.length - 1; while (pos > 0 && DATA.snapshots[order[pos]].t > t) pos--; }
    }
    const k = order[pos];
    reveal(DATA.snapshots[k].t);
    select("snapshot", k, true);
  }
  function currentError() {
    const sel = state.selected;
    if (!sel) return -1;
    const k = sel.kind === "event" ? errEvent.get(sel.index) : sel.kind === "span" ? errSpan.get(sel.index) : undefined;
    return k == null ? -1 : k;
  }
  function stepError(delta) {
    if (!ERRORS.length) return;
    let k = currentError();
    if (k >= 0) k = (k + delta + ERRORS.length) % ERRORS.length;
    else {
      const t = selectedTime();
      k = delta > 0 ? ERRORS.findIndex((x) => t == null || x.t > t) : ERRORS.length - 1;
      if (delta < 0 && t != null) { while (k > 0 && ERRORS[k].t >= t) k--; }
      if (k < 0) k = 0;
    }
    const x = ERRORS[k];
    reveal(x.t);
    if (x.ev != null) select("event", x.ev, true); else select("span", x.sp, true);
  }

  function toggleHelp(show) {
    const help = $("help");
    help.hidden = show == null ? !help.hidden : !show;
    $("help-toggle").setAttribute("aria-expanded", String(!help.hidden));
  }
  function typing(e) {
    const t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.isContentEditable);
  }
  function onKey(e) {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = { "]": () => stepSnapshot(1), n: () => stepSnapshot(1), "[": () => stepSnapshot(-1),
      p: () => stepSnapshot(-1), e: () => stepError(1), E: () => stepError(-1), "?": () => toggleHelp(),
      Escape: () => toggleHelp(false) };
    const run = keys[e.key];
    if (run) { e.preventDefault(); run(); }
  }

  function local(e) { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }

  function wire() {
    let drag = null;
    canvas.addEventListener("wheel", (e) => { e.preventDefault(); const [x] = local(e); zoom(Math.exp(e.deltaY * 0.002), tAt(x)); }, { passive: false });
    canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, view: state.view.slice(), moved: false }; });
    window.addEventListener("mousemove", (e) => {
      if (drag) {
        const dx = e.clientX - drag.x;
        if (Math.abs(dx) > 3) drag.moved = true;
        if (drag.moved) {
          const dt = (dx / plotW()) * (drag.view[1] - drag.view[0]);
          const w = drag.view[1] - drag.view[0];
          const a = Math.max(FULL[0], Math.min(drag.view[0] - dt, FULL[1] - w));
          state.view = [a, a + w]; draw();
        }
      }
      hover(e);
    });
    window.addEventListener("mouseup", (e) => {
      if (drag && !drag.moved && e.target === canvas) {
        const [x, y] = local(e), h = hit(x, y);
        if (h) select(h.kind, h.index, true);
      }
      drag = null;
    });
    canvas.addEventListener("dblclick", () => { state.view = FULL.slice(); draw(); });
    canvas.addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
    $("zoom-in").addEventListener("click", () => zoom(0.5));
    $("zoom-out").addEventListener("click", () => zoom(2));
    $("zoom-reset").addEventListener("click", () => { state.view = FULL.slice(); draw(); });
    let scrolling = false;
    list.addEventListener("scroll", () => {
      if (scrolling) return;
      scrolling = true;
      requestAnimationFrame(() => { scrolling = false; renderList(); });
    });
    list.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); moveSelection(e.key === "ArrowDown" ? 1 : -1); }
    });
    window.addEventListener("resize", () => { renderList(); draw(); });
    document.addEventListener("keydown", onKey);
    $("next-error").addEventListener("click", () => stepError(1));
    $("error-count").addEventListener("click", () => stepError(1));
    $("prev-snapshot").addEventListener("click", () => stepSnapshot(-1));
    $("next-snapshot").addEventListener("click", () => stepSnapshot(1));
    $("help-toggle").addEventListener("click", () => toggleHelp());
    flagBox.addEventListener("wheel", (e) => { e.preventDefault(); const [x] = local(e); zoom(Math.exp(e.deltaY * 0.002), tAt(x)); }, { passive: false });
  }

  function hover(e) {
    const tip = $("tooltip");
    if (e.target !== canvas) { tip.hidden = true; return; }
    const [x, y] = local(e), h = hit(x, y);
    if (!h) { tip.hidden = true; return; }
    tip.textContent = describe(h);
    const box = $("timeline").getBoundingClientRect();
    tip.style.left = Math.min(e.clientX - box.left + 12, box.width - 300) + "px";
    tip.style.top = e.clientY - box.top + 14 + "px";
    tip.hidden = false;
  }

  function stepLabel(s) {
    const step = (DATA.steps || []).find((p) => p.span && p.span === s.d.span_id);
    return step ? "step " + step.n + "  " : "";
  }

  function header() {
    const m = DATA.meta || {};
    $("session-title").textContent = DATA.title;
    const parts = [N + " events", DATA.spans.length + " spans", DATA.snapshots.length + " snapshots"];
    if (typeof m.duration_seconds === "number") parts.push(m.duration_seconds.toFixed(1) + " s");
    if (m.start_time) parts.push("started " + m.start_time);
    if ((DATA.steps || []).length) parts.push(DATA.steps.length + " steps");
    if (m.parent_session) {
      const at = m.parent_step ? ", forked at step " + m.parent_step : "";
      parts.push("replay of " + m.parent_session + at);
    }
    $("session-stats").textContent = parts.join(" · ");
    aggregateNote();
    const count = $("error-count");
    count.textContent = ERRORS.length === 1 ? "1 error" : ERRORS.length + " errors";
    count.classList.toggle("none", !ERRORS.length);
    count.disabled = !ERRORS.length;
    $("next-error").disabled = !ERRORS.length;
    $("prev-snapshot").disabled = $("next-snapshot").disabled = !SNAP_ORDER.length;
  }

  /* Past the events the page draws one by one, the payload counts all of them. */
  function aggregateNote() {
    const agg = DATA.aggregate;
    if (!agg) return;
    const byKind = new Map();
    for (const [, layer, type, n] of agg.counts) {
      const key = LAYERS[layer] + " " + DATA.types[type];
      byKind.set(key, (byKind.get(key) || 0) + n);
    }
    const kinds = [...byKind.entries()].sort((a, b) => b[1] - a[1]);
    const note = $("aggregate-note");
    note.textContent = "Showing the first " + agg.shown.toLocaleString("en") + " of " +
      agg.total.toLocaleString("en") + " events; all of them, by layer and type: " +
      kinds.map(([k, n]) => k + " " + n.toLocaleString("en")).join(", ");
    note.hidden = false;
  }

  /* A small API for tests and scripts: where an item is drawn, and what is shown. */
  window.devduckViewer = {
    shown: () => state.filtered.length,
    view: () => state.view.slice(),
    select: (kind, index) => select(kind, index, true),
    errors: () => ERRORS.length,
    selected: () => (state.selected ? { kind: state.selected.kind, index: state.selected.index } : null),
    pointFor(kind, index) {
      paint();
      const r = canvas.getBoundingClientRect(), L = state.layout;
      let x, y;
      if (kind === "snapshot") {
        const b = flags.buttonFor(index);
        if (!b) return null;
        const box = b.getBoundingClientRect();
        return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
      }
      else if (kind === "span") {
        const s = DATA.spans[index], lane = L.lanes.find((ln) => ln.l === s.l);
        x = (Math.max(xOf(s.t), LABEL_W) + Math.min(Math.max(xOf(s.e), xOf(s.t) + 1), L.width - RIGHT_PAD)) / 2;
        y = lane.spansY + s.r * ROW_H + ROW_H / 2;
      } else {
        const lane = L.lanes.find((ln) => ln.l === EV.l[index]);
        x = xOf(EV.t[index]) + 1; y = lane.y + MARK_H / 2;
      }
      return { x: r.left + x, y: r.top + y };
    },
  };

  header();
  buildFilters();
  wire();
  applyFilters();
})();
