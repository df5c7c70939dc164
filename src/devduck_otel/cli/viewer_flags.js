/* devduck-otel timeline: snapshot flags, as buttons over the canvas. Flags that would
   overlap at the current zoom become one cluster flag ("#3–#7 (5)"); clicking it
   lists its snapshots and zooms in. The pool holds at most one button per cluster. */
const DevduckFlags = (function () {
  "use strict";
  const GAP = 3, PAD = 14, FONT = "600 11px system-ui, sans-serif";
  let measurer = null;

  function textWidth(text) {
    if (!measurer) measurer = document.createElement("canvas").getContext("2d");
    measurer.font = FONT;
    return Math.ceil(measurer.measureText(text).width) + PAD;
  }
  function label(members, ids) {
    const first = "#" + ids[members[0]];
    if (members.length === 1) return first;
    return first + "–#" + ids[members[members.length - 1]] + " (" + members.length + ")";
  }

  /* items: [{k, x}] sorted by x. Returns groups {members, left, width, text} that do
     not overlap and end before maxX (each at least GAP pixels from the next). */
  function cluster(items, ids, maxX) {
    const groups = [];
    for (const it of items) {
      const g = groups[groups.length - 1];
      if (g && it.x < g.left + g.width + GAP) {
        g.members.push(it.k);
        g.text = label(g.members, ids);
        g.width = textWidth(g.text);
      } else {
        const text = label([it.k], ids);
        groups.push({ members: [it.k], left: it.x, width: textWidth(text), text });
      }
    }
    let limit = maxX;
    for (let i = groups.length - 1; i >= 0; i--) {
      const g = groups[i];
      if (g.left + g.width > limit) g.left = limit - g.width;
      limit = g.left - GAP;
    }
    return groups;
  }

  /* A pool of flag buttons in `box`; onPick(group) runs when one is clicked. */
  function create(box, onPick) {
    const pool = [];
    let groups = [];
    function button() {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "flag";
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        const g = groups[Number(b.dataset.group)];
        if (g) onPick(g);
      });
      box.append(b);
      pool.push(b);
      return b;
    }
    function update(items, ids, maxX, chosen, describe) {
      groups = cluster(items, ids, maxX);
      while (pool.length < groups.length) button();
      pool.forEach((b, i) => {
        const g = groups[i];
        if (!g) { b.hidden = true; b.removeAttribute("data-snapshots"); return; }
        b.hidden = false;
        b.dataset.group = String(i);
        b.dataset.snapshots = g.members.join(",");
        b.textContent = g.text;
        b.style.left = g.left + "px";
        b.style.width = g.width + "px";
        b.classList.toggle("cluster", g.members.length > 1);
        b.classList.toggle("chosen", g.members.some((k) => k === chosen));
        b.title = g.members.length > 1
          ? g.members.length + " snapshots: click to list them and zoom in"
          : describe(g.members[0]);
      });
      return groups;
    }
    function buttonFor(k) {
      return pool.find((b) => !b.hidden && (b.dataset.snapshots || "").split(",").map(Number).includes(k)) || null;
    }
    return { update, buttonFor };
  }

  return { create, cluster };
})();
