// gradviz interactive page: plain JS, no dependencies, no network.
// Every string from the trace reaches the DOM through textContent or setAttribute on our own
// elements: never innerHTML.
// The viewer is split by concern, inlined in this order as one script: page.js (the data, the
// helpers, the pictures: views, depth menu, pan and zoom, selection, search), panel.js (the node
// panel, findings, legend), replay.js (the backward replay), images.js, start.js (keys, start),
// fold.js. They share window.gvPage (P): what a file defines is called through P by the others.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("gradviz-data").textContent);
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";
  const P = (window.gvPage = {});

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
    P.renderInfo();
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
    P.paintReplay(inst);
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
    P.renderInfo();
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
    P.renderInfo();
    const g = selectedElement(current());
    if (g) reveal(g);
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

  for (const v of ["forward", "backward"]) $("btn-" + v).addEventListener("click", () => setView(v));
  $("depth").addEventListener("change", () => {
    S.variant[S.view] = Number($("depth").value);
    show();
    const g = selectedElement(current());
    if (g) reveal(g);
  });

  Object.assign(P, {
    D, S, $, el, svgEl, clear, fmt, num, label, shapeText, NODES, STEPS, NSTEPS, VIEWS,
    instance, current, members, show, setView, fit, zoomCentre, reveal, ring,
    select, selectedElement, expandGroup, deeperVariant,
  });
})();
