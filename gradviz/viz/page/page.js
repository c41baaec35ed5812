// gradviz interactive page: plain JS, no dependencies, no network.
// Every string from the trace reaches the DOM through textContent or setAttribute on our own
// elements: never innerHTML.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("gradviz-data").textContent);
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";

  // ------------------------------------------------------------------ data
  const num = (x) => (typeof x === "string" ? Number(x) : x); // "Infinity", "NaN"
  const NODES = new Map();
  for (const n of D.nodes) {
    n.children = [];
    NODES.set(n.id, n);
  }
  for (const n of D.nodes) {
    for (const p of n.parents || []) {
      const parent = NODES.get(p);
      if (parent && !parent.children.includes(n.id)) parent.children.push(n.id);
    }
  }
  const STEPS = D.steps || []; // [[node id, accumulated], ...] in backward order
  const NSTEPS = STEPS.length;
  // consumers whose backward sends a gradient to each node (their steps, ascending)
  for (const n of D.nodes) {
    n.feeds = n.children
      .map((c) => NODES.get(c).step)
      .filter((s) => s !== undefined && s !== null && n.rg)
      .sort((a, b) => a - b);
  }
  const VIEWS = Object.keys(D.views);
  const label = (n) => n.name || n.op || n.kind;

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
      else e.setAttribute(k, v);
    }
    for (const kid of kids) {
      if (kid === null || kid === undefined || kid === false) continue;
      e.appendChild(typeof kid === "object" ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }
  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  function fmt(x) {
    x = num(x);
    if (x === null || x === undefined) return "–";
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 1e-3 && a < 1e4) return String(Number(x.toPrecision(4)));
    return x.toExponential(2);
  }
  const shapeText = (s) =>
    !s ? "?" : s.length === 0 ? "scalar" : "(" + s.join(", ") + (s.length === 1 ? ",)" : ")");
  const clear = (e) => {
    while (e.firstChild) e.removeChild(e.firstChild);
  };

  // ------------------------------------------------------------------ state
  const S = {
    view: VIEWS[0],
    variant: {},
    sel: null, // {node: id} or {group: path, members: [...]}
    k: NSTEPS,
    replay: false,
    timer: null,
    query: "",
    matches: [],
    matchAt: -1,
  };
  for (const v of VIEWS) S.variant[v] = Math.max(0, D.views[v].findIndex((x) => x.default));
  const INST = new Map(); // "view/index" -> instance

  const stage = $("stage");
  const canvas = $("canvas");

  // ------------------------------------------------------------------ SVG instances
  function instance(view, index) {
    const key = view + "/" + index;
    if (INST.has(key)) return INST.get(key);
    const variant = D.views[view][index];
    const tpl = $("gv-svg-" + variant.svg);
    const svg = tpl.content.querySelector("svg").cloneNode(true);
    const vb = (svg.getAttribute("viewBox") || "0 0 100 100").split(/[\s,]+/).map(Number);
    const width = vb[2];
    const height = vb[3];
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.classList.add("graph", "view-" + view);
    svg.style.display = "none"; // show() displays the current one
    canvas.appendChild(svg);
    const inst = { key, view, variant, svg, width, height, byDrawn: new Map(), rep: new Map() };
    inst.tf = { x: 0, y: 0, s: 1 };
    for (const g of svg.querySelectorAll("g.node")) {
      const title = g.querySelector("title");
      const drawn = title ? title.textContent : "";
      g.setAttribute("data-node", drawn);
      if (variant.groups[drawn] !== undefined) g.classList.add("group");
      else if (!NODES.has((variant.stands[drawn] || [drawn])[0])) {
        g.classList.add("inert"); // the legend
        continue;
      }
      inst.byDrawn.set(drawn, g);
      for (const m of variant.stands[drawn] || [drawn]) inst.rep.set(m, drawn);
    }
    inst.edges = [];
    for (const g of svg.querySelectorAll("g.edge")) {
      const title = g.querySelector("title");
      const parts = title ? title.textContent.split("->") : [];
      if (parts.length === 2) inst.edges.push({ g, from: parts[0], to: parts[1] });
    }
    INST.set(key, inst);
    fit(inst, true);
    return inst;
  }
  const current = () => instance(S.view, S.variant[S.view]);
  const members = (inst, drawn) => inst.variant.stands[drawn] || [drawn];

  function show() {
    const inst = current();
    for (const other of INST.values()) other.svg.style.display = other === inst ? "" : "none";
    document.body.setAttribute("data-view", S.view);
    for (const v of ["forward", "backward"]) {
      const b = $("btn-" + v);
      b.classList.toggle("on", v === S.view);
      b.disabled = !VIEWS.includes(v);
      b.setAttribute("aria-pressed", v === S.view ? "true" : "false");
    }
    fillDepths();
    paint();
    document.dispatchEvent(new CustomEvent("gv:show")); // fold.js adds its controls
  }

  function setView(view) {
    if (!VIEWS.includes(view) || view === S.view) return;
    // keep the module depth when the other view has it
    const depth = D.views[S.view][S.variant[S.view]].depth;
    const same = D.views[view].findIndex((x) => x.depth === depth);
    if (same >= 0) S.variant[view] = same;
    S.view = view;
    show();
    renderInfo();
    const g = selectedElement(current());
    if (g) reveal(g);
  }

  function fillDepths() {
    const select = $("depth");
    clear(select);
    const variants = D.views[S.view];
    variants.forEach((v, i) => {
      const boxes = v.nodes + " boxes";
      const text =
        variants.length < 2
          ? boxes // nothing to collapse
          : (v.depth === null
              ? "all expanded"
              : v.depth === 0
                ? "all collapsed"
                : "collapsed below depth " + v.depth) +
            " (" +
            boxes +
            ")";
      select.appendChild(el("option", { value: String(i) }, text));
    });
    select.value = String(S.variant[S.view]);
    select.disabled = variants.length < 2;
  }

  // ------------------------------------------------------------------ pan and zoom
  function apply(inst) {
    const t = inst.tf;
    inst.svg.style.transform = "translate(" + t.x + "px," + t.y + "px) scale(" + t.s + ")";
  }
  function fit(inst, first) {
    const w = stage.clientWidth || 800;
    const h = stage.clientHeight || 600;
    let s = Math.min(w / inst.width, h / inst.height, 1.3) * 0.96;
    if (first && s < 0.45) {
      // too many nodes to read at once: fit the width (readable), start at the top
      s = Math.min(Math.max(w / inst.width, 0.45), 1) * 0.96;
      inst.tf = { s, x: (w - inst.width * s) / 2, y: 8 };
    } else {
      inst.tf = { s, x: (w - inst.width * s) / 2, y: Math.max(8, (h - inst.height * s) / 2) };
    }
    apply(inst);
  }
  function zoomAt(inst, factor, cx, cy) {
    const t = inst.tf;
    const s = Math.min(8, Math.max(0.02, t.s * factor));
    const lx = (cx - t.x) / t.s;
    const ly = (cy - t.y) / t.s;
    inst.tf = { s, x: cx - lx * s, y: cy - ly * s };
    apply(inst);
  }
  function reveal(g, always, minScale) {
    // centre a node in the stage (unless it is in view already); zoom in to minScale when it
    // would be smaller (default 0.9: readable)
    const least = minScale === undefined ? 0.9 : minScale;
    const inst = current();
    const r = g.getBoundingClientRect();
    const st = stage.getBoundingClientRect();
    const t = inst.tf;
    const inside =
      r.left >= st.left && r.right <= st.right && r.top >= st.top && r.bottom <= st.bottom;
    if (!always && inside && t.s >= least) return;
    const lx = (r.left + r.width / 2 - st.left - t.x) / t.s;
    const ly = (r.top + r.height / 2 - st.top - t.y) / t.s;
    const s = Math.max(t.s, least);
    inst.tf = { s, x: st.width / 2 - lx * s, y: st.height / 2 - ly * s };
    apply(inst);
  }

  let drag = null;
  let dragged = false;
  stage.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, tx: current().tf.x, ty: current().tf.y, id: e.pointerId };
    dragged = false;
  });
  stage.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!dragged) {
      dragged = true;
      stage.setPointerCapture(drag.id);
      stage.classList.add("dragging");
    }
    const inst = current();
    inst.tf.x = drag.tx + dx;
    inst.tf.y = drag.ty + dy;
    apply(inst);
  });
  const endDrag = () => {
    drag = null;
    stage.classList.remove("dragging");
  };
  stage.addEventListener("pointerup", endDrag);
  stage.addEventListener("pointercancel", endDrag);
  stage.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const st = stage.getBoundingClientRect();
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      zoomAt(current(), Math.exp(-dy * 0.0015), e.clientX - st.left, e.clientY - st.top);
    },
    { passive: false },
  );
  const zoomCentre = (f) => zoomAt(current(), f, stage.clientWidth / 2, stage.clientHeight / 2);
  $("zoom-in").addEventListener("click", () => zoomCentre(1.25));
  $("zoom-out").addEventListener("click", () => zoomCentre(0.8));
  $("fit").addEventListener("click", () => fit(current(), false));
  window.addEventListener("resize", () => fit(current(), false));

  // ------------------------------------------------------------------ rings (highlights)
  function ring(g, cls, pad) {
    let r = g.querySelector(":scope > rect." + cls);
    if (!r) {
      const b = g.getBBox();
      r = svgEl("rect", {
        class: "ring " + cls,
        x: b.x - pad,
        y: b.y - pad,
        width: b.width + 2 * pad,
        height: b.height + 2 * pad,
        rx: 4,
      });
      g.appendChild(r);
    }
    return r;
  }

  // ------------------------------------------------------------------ painting
  function paint() {
    const inst = current();
    paintSelection(inst);
    paintMatches(inst);
    paintReplay(inst);
  }

  function selectedDrawn(inst) {
    if (!S.sel) return [];
    if (S.sel.node !== undefined) {
      const d = inst.rep.get(S.sel.node);
      return d === undefined ? [] : [d];
    }
    const out = new Set();
    for (const m of S.sel.members) if (inst.rep.has(m)) out.add(inst.rep.get(m));
    return [...out];
  }
  function selectedElement(inst) {
    const drawn = selectedDrawn(inst);
    return drawn.length ? inst.byDrawn.get(drawn[0]) : null;
  }
  function paintSelection(inst) {
    for (const g of inst.svg.querySelectorAll("g.node.sel")) g.classList.remove("sel", "sel-many");
    const drawn = selectedDrawn(inst);
    for (const d of drawn) {
      const g = inst.byDrawn.get(d);
      if (!g) continue;
      ring(g, "ring-sel", 5);
      g.classList.add("sel");
      if (drawn.length > 1) g.classList.add("sel-many"); // an expanded module: a lighter mark
    }
  }

  // ------------------------------------------------------------------ selection and panel
  function select(sel, centre) {
    S.sel = sel;
    paintSelection(current());
    renderInfo();
    if (centre) {
      const g = selectedElement(current());
      if (g) reveal(g, true);
    }
  }

  canvas.addEventListener("click", (e) => {
    if (dragged) {
      dragged = false;
      return;
    }
    const g = e.target.closest("g.node");
    if (!g || g.classList.contains("inert")) return;
    selectDrawn(current(), g.getAttribute("data-node"));
  });
  canvas.addEventListener("dblclick", (e) => {
    const g = e.target.closest("g.node.group");
    if (g) expandGroup(current(), g.getAttribute("data-node"));
  });
  function selectDrawn(inst, drawn) {
    const path = inst.variant.groups[drawn];
    if (path !== undefined) select({ group: path, members: members(inst, drawn) }, false);
    else select({ node: members(inst, drawn)[0] }, false);
  }

  function deeperVariant(view, fromIndex) {
    // the next module depth down (one more level expanded), else everything expanded
    const variants = D.views[view];
    const from = variants[fromIndex].depth;
    if (from === null) return -1;
    let best = -1;
    variants.forEach((v, i) => {
      if (v.depth !== null && v.depth > from && (best < 0 || v.depth < variants[best].depth))
        best = i;
    });
    return best >= 0 ? best : variants.findIndex((v) => v.depth === null);
  }
  function expandGroup(inst, drawn) {
    const path = inst.variant.groups[drawn];
    if (path === undefined) return;
    const index = deeperVariant(inst.view, S.variant[inst.view]);
    if (index < 0) return;
    S.sel = { group: path, members: members(inst, drawn) };
    S.variant[inst.view] = index;
    show();
    renderInfo();
    const g = selectedElement(current());
    if (g) reveal(g);
  }

  function statsTable(title, stats, dtype) {
    if (!stats) return null;
    const rows = [];
    const integer = /^u?int/.test(dtype || "");
    if (integer && stats.min !== null && stats.min !== undefined) {
      // class labels, indices: their range and how many distinct values, not a mean and std
      rows.push(el("tr", {}, el("th", {}, "range"), el("td", {}, stats.min + ".." + stats.max)));
      if (stats.distinct !== null && stats.distinct !== undefined)
        rows.push(el("tr", {}, el("th", {}, "distinct"), el("td", {}, String(stats.distinct))));
    }
    for (const k of integer ? [] : ["min", "max", "mean", "std", "norm"]) {
      rows.push(el("tr", {}, el("th", {}, k), el("td", {}, fmt(stats[k]))));
    }
    const bad = [];
    if (stats.nan) bad.push(stats.nan + " NaN");
    if (stats.inf) bad.push(stats.inf + " Inf");
    if (bad.length)
      rows.push(el("tr", { class: "bad" }, el("th", {}, "non-finite"), el("td", {}, bad.join(", "))));
    return el("div", { class: "stats" }, el("h3", {}, title), el("table", {}, ...rows));
  }

  function histogram(title, h, cls) {
    if (!h) return null;
    const W = 276;
    const H = 64;
    const svg = svgEl("svg", { width: W, height: H + 16, class: "hist " + cls, role: "img" });
    const max = Math.max(...h.counts, 1);
    const bw = W / h.counts.length;
    h.counts.forEach((c, i) => {
      const bh = c === 0 ? 0 : Math.max(1.5, (c / max) * H);
      svg.appendChild(
        svgEl("rect", { x: i * bw + 0.5, y: H - bh, width: Math.max(1, bw - 1), height: bh }),
      );
    });
    svg.appendChild(svgEl("line", { x1: 0, y1: H + 0.5, x2: W, y2: H + 0.5 }));
    const lo = svgEl("text", { x: 0, y: H + 13 });
    lo.textContent = fmt(h.lo);
    const hi = svgEl("text", { x: W, y: H + 13, "text-anchor": "end" });
    hi.textContent = fmt(h.hi);
    svg.appendChild(lo);
    svg.appendChild(hi);
    return el("div", { class: "histo" }, el("h3", {}, title + " (" + h.n + " elements)"), svg);
  }

  const CHIPS = 24;
  function chips(ids) {
    // at most CHIPS links, then how many more
    const out = ids.slice(0, CHIPS).map(chip);
    if (ids.length > CHIPS) out.push(el("span", { class: "muted" }, "… and " + (ids.length - CHIPS) + " more"));
    return out;
  }

  function chip(id) {
    const n = NODES.get(id);
    if (!n) return el("span", { class: "chip" }, id);
    return el(
      "button",
      {
        type: "button",
        class: "chip kind-" + n.kind,
        title: id,
        on: { click: () => select({ node: id }, true) },
      },
      label(n),
    );
  }

  function row(key, ...value) {
    return el("tr", {}, el("th", {}, key), el("td", {}, ...value));
  }

  function renderInfo() {
    const body = $("info-body");
    clear(body);
    if (!S.sel) {
      body.appendChild(overview());
      return;
    }
    if (S.sel.group !== undefined) {
      body.appendChild(groupInfo());
      return;
    }
    const n = NODES.get(S.sel.node);
    if (!n) return;
    const head = el(
      "div",
      { class: "head" },
      el("span", { class: "kind kind-" + n.kind }, n.id === D.root ? "loss" : n.kind),
      el("span", { class: "name", id: "info-name" }, label(n)),
      el("span", { class: "nid" }, n.id),
    );
    body.appendChild(head);
    const rows = [];
    if (n.op) rows.push(row("op", n.op));
    if (n.name) rows.push(row("name", n.name));
    const cls = D.modules[n.module || ""];
    rows.push(row("module", n.module ? n.module + (cls ? " (" + cls + ")" : "") : "(top level)"));
    if (n.source) rows.push(row("source", n.source));
    rows.push(row("shape", shapeText(n.shape)));
    if (n.dtype) rows.push(row("dtype", n.dtype));
    if (n.args && n.args.length) rows.push(row("options", n.args.join(", ")));
    if (!n.rg) rows.push(row("requires_grad", "False (no gradient flows here)"));
    if (n.detached) rows.push(row("detached from", chip(n.detached)));
    if (n.step !== undefined && n.step !== null) {
      rows.push(
        row(
          "backward step",
          "#" + n.step + " of " + NSTEPS + " ",
          el("button", { type: "button", class: "link", on: { click: () => goStep(n.step) } }, "replay to here"),
        ),
      );
    } else if (D.views.backward) {
      rows.push(row("backward step", n.rg ? "none: no gradient reached it" : "none"));
    }
    if (n.acc) {
      const k = n.feeds.length;
      rows.push(row("gradient", k > 1 ? "sum of " + k + " gradients (fan-in)" : "accumulated"));
    }
    if (n.update) {
      const ratio = num(n.update.ratio);
      const zero = ratio !== null && ratio !== undefined && !Number.isNaN(ratio) && !Number.isFinite(ratio);
      if (n.kind === "buffer") rows.push(row("update", "updated in step: norm " + fmt(n.update.norm) + (zero ? " (was 0)" : ", change/value " + fmt(ratio))));
      else rows.push(row("update", "norm " + fmt(n.update.norm) + (zero ? " (weight was 0)" : ", update/weight " + fmt(ratio))));
    }
    body.appendChild(el("table", { class: "props" }, ...rows));
    const stats = el("div", { class: "pair" }, statsTable("value", n.value, n.dtype), statsTable("gradient", n.grad));
    body.appendChild(stats);
    const pictures = window.gradvizImages && window.gradvizImages.panel(n, fmt); // images.js
    if (pictures) body.appendChild(pictures);
    if (!n.grad && D.views.backward && n.rg) body.appendChild(el("p", { class: "muted" }, "gradient: not computed"));
    const hv = histogram("values", n.hv, "hv");
    const hg = histogram("gradient", n.hg, "hg");
    if (hv) body.appendChild(hv);
    if (hg) body.appendChild(hg);
    if (!hv && !hg && !D.arrays) {
      body.appendChild(el("p", { class: "muted" }, "histograms: trace with arrays=True to keep values"));
    }
    if (n.parents && n.parents.length) body.appendChild(el("div", { class: "links" }, "inputs ", ...chips(n.parents)));
    if (n.children.length) body.appendChild(el("div", { class: "links" }, "used by ", ...chips(n.children)));
    const other = VIEWS.find((v) => v !== S.view);
    if (other && instance(other, S.variant[other]).rep.has(n.id)) {
      body.appendChild(
        el("button", { type: "button", class: "goto", id: "goto-other", on: { click: () => setView(other) } }, "show in the " + other + " graph"),
      );
    }
  }

  function groupInfo() {
    const path = S.sel.group;
    const ops = S.sel.members.filter((m) => (NODES.get(m) || {}).kind === "op");
    const params = S.sel.members.filter((m) => (NODES.get(m) || {}).kind === "param");
    const wrap = el(
      "div",
      {},
      el("div", { class: "head" }, el("span", { class: "kind kind-group" }, "module"), el("span", { class: "name" }, path)),
      el(
        "table",
        { class: "props" },
        row("class", D.modules[path] || "?"),
        row("contents", ops.length + " ops, " + params.length + " parameters"),
      ),
    );
    const inst = current();
    const drawn = inst.rep.get(S.sel.members[0]);
    if (inst.variant.groups[drawn] === path && deeperVariant(S.view, S.variant[S.view]) >= 0) {
      wrap.appendChild(
        el("button", { type: "button", class: "goto", on: { click: () => expandGroup(inst, drawn) } }, "expand (double-click the box)"),
      );
    }
    if (params.length) wrap.appendChild(el("div", { class: "links" }, "parameters ", ...chips(params)));
    return wrap;
  }

  function overview() {
    const ops = D.nodes.filter((n) => n.kind === "op").length;
    const params = D.nodes.filter((n) => n.kind === "param");
    const rows = [row("ops", String(ops)), row("parameters", String(params.length))];
    if (D.views.backward) rows.push(row("backward steps", String(NSTEPS)));
    if (D.pass !== undefined && D.pass !== null) rows.push(row("backward call", "#" + D.pass));
    if (D.program) rows.push(row("layout", D.program));
    return el(
      "div",
      {},
      el("p", { class: "hint" }, "Click a node for its values and gradients. Drag to pan, wheel to zoom."),
      el("table", { class: "props" }, ...rows),
      params.length ? el("div", { class: "links" }, "parameters ", ...chips(params.map((p) => p.id))) : null,
    );
  }

  // ------------------------------------------------------------------ search
  function runSearch() {
    const q = $("search").value.trim().toLowerCase();
    S.query = q;
    S.matches = [];
    S.matchAt = -1;
    if (q) {
      for (const n of D.nodes) {
        const hay = [n.name, n.op, n.module, n.id].filter(Boolean).map((s) => String(s).toLowerCase());
        if (hay.some((s) => s.includes(q))) S.matches.push(n.id);
      }
    }
    $("search-count").textContent = !q ? "" : S.matches.length === 1 ? "1 match" : S.matches.length + " matches";
    paintMatches(current());
  }
  function paintMatches(inst) {
    for (const g of inst.svg.querySelectorAll("g.node.match")) g.classList.remove("match");
    for (const id of S.matches) {
      const g = inst.byDrawn.get(inst.rep.get(id));
      if (!g) continue;
      ring(g, "ring-match", 8);
      g.classList.add("match");
    }
  }
  $("search").addEventListener("input", runSearch);
  $("search").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && S.matches.length) {
      e.preventDefault();
      const inst = current();
      const shown = S.matches.filter((id) => inst.rep.has(id));
      const list = shown.length ? shown : S.matches;
      S.matchAt = (S.matchAt + (e.shiftKey ? list.length - 1 : 1)) % list.length;
      select({ node: list[S.matchAt] }, true);
    } else if (e.key === "Escape") {
      $("search").value = "";
      runSearch();
      $("search").blur();
    }
  });

  // ------------------------------------------------------------------ replay
  function nodeState(n, k) {
    if (n.step !== undefined && n.step !== null) {
      if (n.step === k) return "current";
      if (n.step < k) return "done";
    }
    if (!n.feeds.length) return "none";
    let got = 0;
    for (const s of n.feeds) if (s <= k) got++;
    if (got === 0) return "none";
    return got === n.feeds.length ? "done" : "partial";
  }
  function paintReplay(inst) {
    const active = S.replay && inst.view === "backward";
    inst.svg.classList.toggle("replaying", active);
    const k = S.k;
    for (const [drawn, g] of inst.byDrawn) {
      g.classList.remove("r-none", "r-partial", "r-done", "r-current", "r-leaf");
      if (!active) continue;
      const ms = members(inst, drawn).map((m) => NODES.get(m)).filter(Boolean);
      let st;
      if (ms.length === 1) st = nodeState(ms[0], k);
      else {
        const states = ms.filter((m) => m.rg).map((m) => nodeState(m, k));
        st = states.includes("current")
          ? "current"
          : states.length && states.every((s) => s === "done")
            ? "done"
            : states.some((s) => s !== "none")
              ? "partial"
              : "none";
      }
      if (st === "partial" || st === "current") ring(g, "ring-rp", 2.5);
      g.classList.add("r-" + st);
      if (st === "current" && ms.length === 1 && ms[0].kind !== "op") g.classList.add("r-leaf");
    }
    const cur = k >= 1 && k <= NSTEPS ? STEPS[k - 1][0] : null;
    const curDrawn = cur === null ? null : inst.rep.get(cur);
    for (const e of inst.edges) {
      e.g.classList.remove("e-done", "e-flow");
      if (!active) continue;
      const src = members(inst, e.from).map((m) => NODES.get(m)).filter(Boolean);
      if (src.some((m) => m.step && m.step < k)) e.g.classList.add("e-done");
      if (e.from === curDrawn) e.g.classList.add("e-flow");
    }
  }

  function replayStatus() {
    const k = S.k;
    $("rp-slider").value = String(k);
    $("rp-label").textContent = "step " + k + " / " + NSTEPS;
    document.body.setAttribute("data-step", String(S.replay ? k : NSTEPS));
    const status = $("rp-status");
    clear(status);
    if (!S.replay) {
      status.appendChild(
        document.createTextNode(
          NSTEPS ? "Replay the " + NSTEPS + " backward steps: press play, drag the slider or use ← →" : "",
        ),
      );
      return;
    }
    if (k === 0) {
      status.appendChild(document.createTextNode("before backward: no gradient yet"));
      return;
    }
    const [id, acc] = STEPS[k - 1];
    const n = NODES.get(id);
    status.appendChild(el("b", {}, label(n)));
    let text = n.module ? " in " + n.module : "";
    if (id === D.root) text += ": the loss; backward starts from d loss / d loss = 1";
    else if (n.kind !== "op") {
      text += ": its gradient is accumulated into " + (n.name || id) + ".grad";
      if (acc && n.feeds.length > 1) text += " (the sum of " + n.feeds.length + " gradients)";
    } else {
      const to = (n.parents || []).map((p) => NODES.get(p)).filter((p) => p && p.rg).map(label);
      text += ": backward of " + n.op + " sends the gradient on to ";
      text += to.length ? to.join(", ") : "nothing";
    }
    if (n.grad) text += "   |grad| " + fmt(n.grad.norm);
    status.appendChild(document.createTextNode(text));
  }

  function goStep(k) {
    S.replay = true;
    S.k = Math.max(0, Math.min(NSTEPS, k));
    if (S.view !== "backward" && VIEWS.includes("backward")) setView("backward");
    const inst = current();
    paintReplay(inst);
    replayStatus();
    // keep the node being run in view (without zooming in, so the flow stays visible)
    const cur = S.k >= 1 ? inst.byDrawn.get(inst.rep.get(STEPS[S.k - 1][0])) : null;
    if (cur) reveal(cur, false, Math.min(inst.tf.s, 0.9));
  }
  function stopPlay() {
    if (S.timer) clearInterval(S.timer);
    S.timer = null;
    $("rp-play").textContent = "▶ play";
  }
  function play() {
    if (S.timer) return stopPlay();
    if (!S.replay || S.k >= NSTEPS) goStep(0);
    const every = Math.max(80, Math.min(700, 9000 / Math.max(1, NSTEPS)));
    $("rp-play").textContent = "❚❚ pause";
    S.timer = setInterval(() => {
      if (S.k >= NSTEPS) return stopPlay();
      goStep(S.k + 1);
    }, every);
  }
  function replayOff() {
    stopPlay();
    S.replay = false;
    S.k = NSTEPS;
    paintReplay(current());
    replayStatus();
  }
  const slider = $("rp-slider");
  slider.max = String(NSTEPS);
  slider.value = String(NSTEPS);
  slider.addEventListener("input", () => {
    stopPlay();
    goStep(Number(slider.value));
  });
  $("rp-first").addEventListener("click", () => (stopPlay(), goStep(0)));
  $("rp-prev").addEventListener("click", () => (stopPlay(), goStep(S.replay ? S.k - 1 : NSTEPS - 1)));
  $("rp-next").addEventListener("click", () => (stopPlay(), goStep(S.replay ? S.k + 1 : 1)));
  $("rp-play").addEventListener("click", play);
  $("rp-off").addEventListener("click", replayOff);
  if (!NSTEPS) $("replay").hidden = true;

  // ------------------------------------------------------------------ findings and legend
  function renderFindings() {
    const list = $("findings-list");
    clear(list);
    const items = D.findings || [];
    $("findings-count").textContent = items.length ? "(" + items.length + ")" : "";
    if (!items.length) {
      const text =
        D.findingsSource === "check" ? "gradviz check found nothing." : "No NaN/Inf and every parameter got a gradient.";
      list.appendChild(el("li", { class: "muted" }, text));
      return;
    }
    for (const f of items) {
      const li = el(
        "li",
        { class: "finding sev-" + f.severity + (f.node ? " clickable" : "") },
        el("span", { class: "sev" }, f.severity),
        " ",
        f.text,
        f.source ? el("span", { class: "src" }, " " + f.source) : null,
        ...(f.advice || []).map((tip) => el("div", { class: "advice" }, "try: " + tip)),
      );
      if (f.node && NODES.has(f.node)) {
        li.tabIndex = 0;
        const go = () => {
          const inst = current();
          if (!inst.rep.has(f.node)) {
            const other = VIEWS.find((v) => v !== S.view && instance(v, S.variant[v]).rep.has(f.node));
            if (other) setView(other);
          }
          select({ node: f.node }, true);
        };
        li.addEventListener("click", go);
        li.addEventListener("keydown", (e) => e.key === "Enter" && go());
      }
      list.appendChild(li);
    }
  }

  function renderLegend() {
    const body = $("legend-body");
    const item = (cls, text, colour) => {
      const sw = el("span", { class: "sw " + cls });
      if (colour) sw.style.background = colour;
      return el("li", {}, sw, text);
    };
    const c = D.colours;
    body.appendChild(
      el(
        "ul",
        { class: "legend" },
        item("box", "input", c.input),
        item("box", "parameter", c.param),
        D.nodes.some((n) => n.kind === "buffer") && item("box", "buffer (running statistics)", c.buffer),
        item("box", "op", c.op),
        item("box", "loss", c.loss),
        item("box dim", "requires_grad=False", c.dim),
        item("box", "collapsed module (double-click)", c.collapsed),
        item("box", "NaN / Inf", c.nan),
        item("grad", "backward: |grad| small → large (log)", null),
      ),
    );
    const grad = body.querySelector(".sw.grad");
    grad.style.background = "linear-gradient(90deg," + c.magnitude.join(",") + ")";
    body.appendChild(el("h3", {}, "replay"));
    body.appendChild(
      el(
        "ul",
        { class: "legend" },
        item("st current", "running this step"),
        item("st leaf", "accumulating into a leaf's .grad"),
        item("st done", "gradient complete"),
        item("st partial", "partial: fan-in still pending"),
        item("st none", "not reached yet"),
        item("st sel", "selected"),
        item("st match", "search match"),
      ),
    );
  }

  // ------------------------------------------------------------------ keys and start
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && t.tagName === "BUTTON" && (e.key === " " || e.key === "Enter")) return; // a click
    if (e.key === "ArrowRight") goStep(S.replay ? S.k + 1 : 1);
    else if (e.key === "ArrowLeft") goStep(S.replay ? S.k - 1 : NSTEPS - 1);
    else if (e.key === "Home") goStep(0);
    else if (e.key === "End") goStep(NSTEPS);
    else if (e.key === " ") play();
    else if (e.key === "Escape") S.replay ? replayOff() : select(null, false);
    else if (e.key === "f") fit(current(), false);
    else if (e.key === "+" || e.key === "=") zoomCentre(1.25);
    else if (e.key === "-") zoomCentre(0.8);
    else if (e.key === "/") $("search").focus();
    else return;
    e.preventDefault();
  });
  for (const v of ["forward", "backward"]) $("btn-" + v).addEventListener("click", () => setView(v));
  $("depth").addEventListener("change", () => {
    S.variant[S.view] = Number($("depth").value);
    show();
    const g = selectedElement(current());
    if (g) reveal(g);
  });

  const bits = [D.script, D.modules[""], D.pass ? "backward call #" + D.pass : null].filter(Boolean);
  $("title").textContent = bits.join(" · ");
  if (D.notes && D.notes.length) {
    $("note").textContent = D.notes.join(" ");
    $("note").hidden = false;
  }
  // what fold.js (inlined after this file) uses: unfolding repeated blocks
  window.gvPage = { D, S, $, el, clear, current, show, select, selectedElement, reveal, renderInfo };
  renderFindings();
  renderLegend();
  show();
  renderInfo();
  replayStatus();
  document.body.setAttribute("data-ready", "1");
})();
