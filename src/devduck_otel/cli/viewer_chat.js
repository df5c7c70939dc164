/* devduck-otel timeline: a snapshot as a chat, what changed since the previous one,
   and its state and environment folded last. Every text is set with textContent; an
   image is shown only from base64 data of a raster type, never from a URL. */
const DevduckChat = (function () {
  "use strict";
  const TAG = "__devduck__";
  const RASTER = /^image\/(png|jpeg|gif|webp|bmp)$/;
  const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
  const MAX_IMAGE = 4 * 1024 * 1024;
  const MAX_TEXT = 20000;
  const ENV = "env_vars_redacted";
  const SKIP = new Set(["agent_messages", "agent_messages_ref", ENV]);
  /* Fields that change with every snapshot and say nothing about the agent. */
  const VOLATILE = new Set(["snapshot_id", "time", "timestamp", "description", "trace_id",
    "span_id", "sha256", "size", "events_since_last", "agent_messages_ref",
    "agent_messages_count"]);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function isObj(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function clip(text) {
    const s = String(text);
    return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + " … (" + s.length + " characters)" : s;
  }
  function pretty(v) {
    if (typeof v === "string") return clip(v);
    let text;
    try { text = JSON.stringify(v, null, 2); } catch (e) { text = String(v); }
    return clip(text === undefined ? String(v) : text);
  }

  /* ---------- images ---------- */
  function bytesOf(raw) {
    if (isObj(raw) && raw[TAG] === "bytes" && typeof raw.base64 === "string") {
      return { data: raw.base64, size: typeof raw.size === "number" ? raw.size : Math.floor(raw.base64.length * 3 / 4) };
    }
    if (typeof raw === "string") return { data: raw, size: Math.floor(raw.length * 3 / 4) };
    return null;
  }
  function fromDataUrl(url) {
    const m = /^data:([a-z0-9.+/-]+);base64,(.*)$/i.exec(url);
    return m ? { media: m[1].toLowerCase(), bytes: bytesOf(m[2]) } : null;
  }
  /* One image: an img element from base64 of a raster type, else a placeholder saying why. */
  function image(media, bytes, source) {
    const box = el("div", null, "b-image");
    const kind = String(media || "image/?");
    const size = bytes ? bytes.size + " bytes" : "no data";
    box.append(el("span", "image · " + kind + " · " + size, "b-label"));
    const clean = bytes && bytes.data.replace(/\s+/g, "");
    if (clean && RASTER.test(kind) && BASE64.test(clean) && clean.length <= MAX_IMAGE) {
      const img = document.createElement("img");
      img.alt = kind + " image, " + size;
      img.setAttribute("src", "data:" + kind + ";base64," + clean);
      box.append(img);
    } else if (source) {
      box.append(el("span", "not shown: " + clip(source), "b-note"));
    }
    return box;
  }
  function strandsImage(img) {
    const where = isObj(img.source) ? img.source : {};
    const format = String(img.format || "").toLowerCase();
    return image(format ? "image/" + (format === "jpg" ? "jpeg" : format) : null, bytesOf(where.bytes),
      where.bytes == null ? pretty(where) : null);
  }
  function typedImage(block) {
    if (block.type === "image_url" || block.image_url) {
      const url = String((isObj(block.image_url) ? block.image_url.url : block.image_url) || "");
      const parsed = fromDataUrl(url);
      return parsed ? image(parsed.media, parsed.bytes, null) : image(null, null, "remote image " + url);
    }
    const where = isObj(block.source) ? block.source : {};
    if (where.type === "base64") return image(where.media_type, bytesOf(where.data), null);
    return image(where.media_type, null, where.url ? "remote image " + where.url : pretty(where));
  }

  /* ---------- content blocks ---------- */
  function toolUse(name, input, id) {
    const box = el("div", null, "b-tool-use");
    box.append(el("span", "tool use · " + String(name == null ? "?" : name) + (id ? " · " + id : ""), "b-label"));
    box.append(el("pre", pretty(input === undefined ? {} : input), "b-input"));
    return box;
  }
  function toolResult(status, content, id) {
    const failed = status === "error" || status === true;
    const box = el("div", null, "b-tool-result" + (failed ? " error" : ""));
    const label = failed ? "error" : status == null || status === false ? "" : String(status);
    box.append(el("span", "tool result" + (label ? " · " + label : "") + (id ? " · " + id : ""), "b-label"));
    for (const b of listOf(content)) box.append(block(b));
    return box;
  }
  function listOf(content) {
    if (content == null) return [];
    if (typeof content === "string") return [{ text: content }];
    return Array.isArray(content) ? content : [content];
  }

  function block(b) {
    if (typeof b === "string") return el("div", clip(b), "b-text");
    if (!isObj(b)) return el("pre", pretty(b), "b-json");
    if (typeof b.text === "string" && (b.type == null || b.type === "text")) return el("div", clip(b.text), "b-text");
    if (isObj(b.toolUse)) return toolUse(b.toolUse.name, b.toolUse.input, b.toolUse.toolUseId);
    if (b.type === "tool_use") return toolUse(b.name, b.input, b.id);
    if (isObj(b.toolResult)) return toolResult(b.toolResult.status, b.toolResult.content, b.toolResult.toolUseId);
    if (b.type === "tool_result") return toolResult(b.is_error ? "error" : null, b.content, b.tool_use_id);
    if (isObj(b.image)) return strandsImage(b.image);
    if (b.type === "image" || b.type === "image_url" || b.image_url) return typedImage(b);
    if ("json" in b) return el("pre", pretty(b.json), "b-json");
    if (isObj(b.reasoningContent)) {
      const r = b.reasoningContent.reasoningText;
      return el("div", "reasoning: " + pretty(isObj(r) ? r.text : b.reasoningContent), "b-text b-reasoning");
    }
    const box = el("div", null, "b-other");
    box.append(el("span", Object.keys(b).slice(0, 3).join(", ") || "block", "b-label"), el("pre", pretty(b), "b-json"));
    return box;
  }

  function roleOf(m) {
    if (!isObj(m)) return "?";
    return m.role == null ? "?" : String(m.role);
  }
  function blocksOf(m) {
    if (!isObj(m)) return [m];
    const out = listOf(m.content);
    for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
      const fn = isObj(call) && isObj(call.function) ? call.function : {};
      let args = fn.arguments;
      if (typeof args === "string") { try { args = JSON.parse(args); } catch (e) { /* kept as text */ } }
      out.push({ toolUse: { name: fn.name, input: args, toolUseId: isObj(call) ? call.id : null } });
    }
    return out;
  }

  function message(m, index, isNew) {
    const role = roleOf(m);
    const safeRole = /^[a-z_]{1,20}$/.test(role) ? role : "other";
    const box = el("div", null, "msg role-" + safeRole + (isNew ? " new" : ""));
    box.dataset.index = String(index);
    const head = el("div", null, "msg-head");
    head.append(el("span", role, "msg-role"), el("span", "#" + index, "msg-index"));
    if (isNew) head.append(el("span", "new", "msg-new"));
    box.append(head);
    for (const b of blocksOf(m)) box.append(block(b));
    return box;
  }

  /* The conversation: the system prompt, then every message; new ones highlighted. */
  function chat(messages, newFrom, systemPrompt) {
    const box = el("div", null, "chat");
    box.id = "chat";
    if (systemPrompt) {
      const sys = el("div", null, "msg role-system");
      sys.append(el("div", null, "msg-head"));
      sys.firstChild.append(el("span", "system prompt", "msg-role"));
      sys.append(el("div", clip(systemPrompt), "b-text"));
      box.append(sys);
    }
    if (!messages.length) box.append(el("p", "no messages", "dim"));
    messages.forEach((m, i) => box.append(message(m, i, newFrom != null && i >= newFrom)));
    return box;
  }

  /* ---------- changes ---------- */
  function flatten(d) {
    const out = new Map();
    for (const [k, v] of Object.entries(d || {})) {
      if (VOLATILE.has(k) || k === "agent_messages") continue;
      if (isObj(v) && Object.keys(v).length) {
        for (const [k2, v2] of Object.entries(v)) out.set(k + "." + k2, JSON.stringify(v2));
      } else out.set(k, JSON.stringify(v));
    }
    return out;
  }
  /* Messages added (after the shared prefix) and removed, and state keys changed. */
  function diff(prev, cur) {
    if (!prev) return null;
    let common = 0;
    while (common < prev.m.length && common < cur.m.length && prev.m[common] === cur.m[common]) common++;
    const before = flatten(prev.d), after = flatten(cur.d), keys = [];
    for (const [k, v] of after) {
      if (!before.has(k)) keys.push({ key: k, kind: "added", after: v });
      else if (before.get(k) !== v) keys.push({ key: k, kind: "changed", before: before.get(k), after: v });
    }
    for (const [k, v] of before) if (!after.has(k)) keys.push({ key: k, kind: "removed", before: v });
    return { prev: prev.id, added: cur.m.length - common, removed: prev.m.length - common, newFrom: common, keys };
  }
  function short(text) {
    const s = String(text);
    return s.length > 120 ? s.slice(0, 119) + "…" : s;
  }
  function changes(d) {
    const box = el("section", null, "changes");
    box.id = "changes";
    if (!d) { box.append(el("h3", "First snapshot"), el("p", "nothing before it to compare", "dim")); return box; }
    box.append(el("h3", "Changed since #" + d.prev));
    const parts = [d.added + " message" + (d.added === 1 ? "" : "s") + " added"];
    if (d.removed) parts.push(d.removed + " replaced or removed");
    const line = el("p", parts.join(", "), "changes-messages");
    if (d.added > 0) {
      const jump = el("button", "show them", "jump-new");
      jump.type = "button";
      jump.addEventListener("click", () => {
        const first = document.querySelector("#chat .msg.new");
        if (first) first.scrollIntoView({ block: "start" });
      });
      line.append(" ", jump);
    }
    box.append(line);
    const list = el("ul", null, "changes-keys");
    for (const c of d.keys) {
      const text = c.kind === "added" ? "+ " + c.key + " = " + short(c.after)
        : c.kind === "removed" ? "− " + c.key + " (was " + short(c.before) + ")"
        : "~ " + c.key + ": " + short(c.before) + " → " + short(c.after);
      const li = el("li", text, "key-" + c.kind);
      li.dataset.key = c.key;
      list.append(li);
    }
    if (!d.keys.length) list.append(el("li", "no state keys changed", "dim"));
    box.append(list);
    return box;
  }

  function folded(title, value, id) {
    const box = el("details", null, "folded");
    box.id = id;
    box.append(el("summary", title), el("pre", pretty(value)));
    return box;
  }
  /* State (everything but messages and environment), then the environment: folded. */
  function rest(d) {
    const state = {};
    for (const [k, v] of Object.entries(d || {})) if (!SKIP.has(k)) state[k] = v;
    const nodes = [folded("State and fields (" + Object.keys(state).length + ")", state, "snapshot-state")];
    const env = d ? d[ENV] : null;
    const n = isObj(env) ? Object.keys(env).length : 0;
    nodes.push(folded("Environment (" + n + " variable" + (n === 1 ? "" : "s") + ")", env || {}, "snapshot-env"));
    return nodes;
  }

  return { el, chat, diff, changes, rest };
})();
