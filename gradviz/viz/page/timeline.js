// gradviz timeline strip: the loss and a per-parameter heatmap over the recorded steps under
// the page of the last step. Scrubbing recolours the graph with that step's statistic; the
// selected node's statistics are drawn as sparklines; steps with findings are marked.
// Plain JS, no dependencies, no network; user strings only ever reach textContent.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("gradviz-data").textContent);
  const T = D.timeline;
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";
  const num = (x) => (x === null || x === undefined ? NaN : typeof x === "string" ? Number(x) : x);
  const N = T.steps.length;
  const SPARKS = [
    ["value_norm", "value norm"],
    ["value_mean", "value mean"],
    ["value_std", "value std"],
    ["grad_norm", "grad norm"],
    ["grad_mean", "grad mean"],
    ["grad_std", "grad std"],
    ["update_ratio", "update / weight"],
  ];
  const METRIC_NAMES = { grad_norm: "|grad|", update_ratio: "update / weight" };
  for (const k of T.keys) for (const [s] of SPARKS) k[s] = Float64Array.from(k[s], num);
  const LOSS = Float64Array.from(T.loss, num);
  const NODEKEY = new Map();
  T.keys.forEach((k, i) => k.node && NODEKEY.set(k.node, i));
  const STANDS = new Map();
  for (const variants of Object.values(D.views))
    for (const v of variants) for (const [d, ms] of Object.entries(v.stands)) STANDS.set(d, ms);
  const S = { i: N - 1, metric: "grad_norm", node: null };

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
      else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  function fmt(x) {
    if (Number.isNaN(x)) return "–";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    const a = Math.abs(x);
    return a >= 1e-3 && a < 1e4 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
  }
  const clear = (e) => e.replaceChildren();
  const clamp = (i) => Math.max(0, Math.min(N - 1, i));
  function drawSeries(svg, values, x, y, cls) {
    // a line through each run of finite values; a lone value (one step) is a dot
    let run = [];
    const flush = () => {
      if (run.length === 1)
        svg.append(svgEl("circle", { class: "tl-dot", cx: run[0][0], cy: run[0][1], r: 3.5 }));
      else if (run.length) svg.append(svgEl("polyline", { class: cls, points: run.join(" ") }));
      run = [];
    };
    values.forEach((v, i) => {
      if (Number.isFinite(v)) run.push([x(i).toFixed(1), y(v).toFixed(1)]);
      else flush();
    });
    flush();
  }

  // ------------------------------------------------------------------ colour scale (log)
  const RAMP = D.colours.magnitude.map((h) => [1, 3, 5].map((o) => parseInt(h.slice(o, o + 2), 16)));
  function logRange(metric) {
    // the 2nd to 98th percentile of the heatmap's values, as the pictures' colours span
    const logs = [];
    for (const r of T.rows) for (const v of T.keys[r][metric]) if (v > 0 && Number.isFinite(v)) logs.push(Math.log10(v));
    if (!logs.length) return [0, 1];
    logs.sort((a, b) => a - b);
    const lo = logs[Math.floor(0.02 * (logs.length - 1))];
    const hi = logs[Math.ceil(0.98 * (logs.length - 1))];
    return hi - lo < 1e-9 ? [lo - 0.5, hi + 0.5] : [lo, hi];
  }
  const RANGE = { grad_norm: logRange("grad_norm"), update_ratio: logRange("update_ratio") };
  function position(metric, v) {
    if (!(v > 0)) return 0;
    if (!Number.isFinite(v)) return 1;
    const [lo, hi] = RANGE[metric];
    return Math.max(0, Math.min(1, (Math.log10(v) - lo) / (hi - lo)));
  }
  function colour(t) {
    const x = t * (RAMP.length - 1);
    const a = Math.floor(Math.min(x, RAMP.length - 2));
    const f = x - a;
    const c = RAMP[a].map((v, j) => Math.round(v + (RAMP[a + 1][j] - v) * f));
    return "rgb(" + c.join(",") + ")";
  }

  // ------------------------------------------------------------------ the graph
  function nodeStat(members, i) {
    let best = NaN;
    let bad = false;
    for (const id of members) {
      const k = NODEKEY.get(id);
      if (k === undefined) continue;
      const key = T.keys[k];
      if (key.bad[i]) bad = true;
      const v = key[S.metric][i];
      if (!Number.isNaN(v)) best = Number.isNaN(best) ? v : Math.max(best, v);
    }
    return { best, bad };
  }
  function paintGraph() {
    for (const g of document.querySelectorAll("#canvas svg.graph g.node[data-node]")) {
      if (g.classList.contains("inert")) continue;
      const drawn = g.getAttribute("data-node");
      if (!g.querySelector(".tl-shape")) {
        const shape = g.querySelector("polygon, path, ellipse"); // the box, before its label
        if (shape) shape.classList.add("tl-shape");
      }
      const { best, bad } = nodeStat(STANDS.get(drawn) || [drawn], S.i);
      const on = !bad && !Number.isNaN(best);
      const t = on ? position(S.metric, best) : 0;
      g.classList.toggle("tl-bad", bad);
      g.classList.toggle("tl-on", on);
      g.classList.toggle("tl-dark", on && t > 0.66);
      g.classList.toggle("tl-none", !on && !bad);
      if (on) g.style.setProperty("--tl-fill", colour(t));
      else g.style.removeProperty("--tl-fill");
    }
  }
  new MutationObserver(paintGraph).observe($("canvas"), { childList: true });

  // ------------------------------------------------------------------ the strip
  const area = $("tl-area");
  const ROWH = 13;
  const LOSSH = 56;
  const xOf = (i) => ((i + 0.5) / N) * area.clientWidth;
  const stepAt = (clientX) => {
    const r = area.getBoundingClientRect();
    return clamp(Math.floor(((clientX - r.left) / Math.max(1, r.width)) * N));
  };

  const QUIET = "no gradient and no optimizer update in any recorded step (used under no_grad, frozen, or not given to the optimizer)";

  function drawNames() {
    const names = $("tl-names");
    clear(names);
    names.append(el("div", { class: "tl-name tl-loss-name" }, "loss"));
    for (const r of T.rows) {
      const key = T.keys[r];
      const row = key.quiet
        ? el("div", { class: "tl-name tl-quiet", title: key.label + ": " + QUIET }, key.label + " (no grad)")
        : el("div", { class: "tl-name", title: key.label }, key.label);
      row.style.height = ROWH + "px";
      if (key.node)
        row.addEventListener("click", () => selectNode(key.node));
      names.append(row);
    }
  }

  function drawLoss() {
    const svg = $("tl-loss");
    clear(svg);
    const W = area.clientWidth;
    svg.setAttribute("width", W);
    svg.setAttribute("height", LOSSH);
    const finite = [...LOSS].filter(Number.isFinite);
    if (!finite.length) return;
    const log = finite.every((v) => v > 0);
    const tr = (v) => (log ? Math.log10(v) : v);
    const lo = Math.min(...finite.map(tr));
    const hi = Math.max(...finite.map(tr));
    // a constant loss (one step) runs through the middle
    const y = (v) => 4 + (hi > lo ? 1 - (tr(v) - lo) / (hi - lo) : 0.5) * (LOSSH - 10);
    drawSeries(svg, LOSS, xOf, y, "tl-line");
    LOSS.forEach((v, i) => {
      if (!Number.isFinite(v) && T.keys.some((k) => k.bad[i]))
        svg.append(svgEl("rect", { class: "tl-nanbar", x: xOf(i) - 1, y: 0, width: 2, height: LOSSH }));
    });
    const box = $("tl-names").querySelector(".tl-loss-name");
    box.replaceChildren(
      el("span", {}, fmt(log ? 10 ** hi : hi)),
      el("span", { class: "tl-what" }, log ? "loss (log)" : "loss"),
      el("span", {}, fmt(log ? 10 ** lo : lo)),
    );
  }

  function drawHeat() {
    const canvas = $("tl-heat");
    const W = area.clientWidth;
    const H = T.rows.length * ROWH;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(W * ratio));
    canvas.height = Math.max(1, Math.round(H * ratio));
    canvas.style.width = W + "px";
    canvas.style.height = H + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#f3f4f5";
    ctx.fillRect(0, 0, W, H);
    const cw = W / N;
    T.rows.forEach((r, row) => {
      const key = T.keys[r];
      const values = key[S.metric];
      for (let i = 0; i < N; i++) {
        const v = values[i];
        if (key.bad[i]) ctx.fillStyle = D.colours.nan;
        else if (Number.isNaN(v)) continue;
        else ctx.fillStyle = colour(position(S.metric, v));
        ctx.fillRect(i * cw, row * ROWH, Math.max(cw, 0.6), ROWH - 1);
      }
    });
    drawScale();
  }

  function drawScale() {
    const box = $("tl-scale");
    clear(box);
    const [lo, hi] = RANGE[S.metric];
    const bar = el("span", { class: "tl-ramp" });
    bar.style.background = "linear-gradient(90deg," + D.colours.magnitude.join(",") + ")";
    box.append(METRIC_NAMES[S.metric] + " " + fmt(10 ** lo) + " ", bar, " " + fmt(10 ** hi) + " (log, 2nd-98th percentile)");
  }

  // findings: one mark per step (its first finding), linked to the item in the findings list
  const BY_STEP = new Map();
  for (const f of T.findings) {
    const i = T.steps.indexOf(f.step);
    if (i < 0) continue;
    if (!BY_STEP.has(i)) BY_STEP.set(i, []);
    BY_STEP.get(i).push(f);
  }
  function drawMarks() {
    const box = $("tl-marks");
    clear(box);
    for (const [i, fs] of BY_STEP) {
      const f = fs[0];
      const text = fs.map((g) => "step " + g.step + ": " + g.text).join("\n");
      const mark = el("button", {
        type: "button",
        class: "tl-mark sev-" + f.severity + " kind-" + f.kind,
        title: text,
        "aria-label": text,
        "data-step": String(f.step),
      });
      mark.style.left = xOf(i) + "px";
      mark.addEventListener("click", (e) => {
        e.stopPropagation();
        openFinding(f);
      });
      box.append(mark);
    }
    for (const step of T.changed) {
      const i = T.steps.indexOf(step);
      if (i < 0) continue;
      const tick = el("span", { class: "tl-changed", title: "step " + step + ": the graph changed" });
      tick.style.left = xOf(i) + "px";
      box.append(tick);
    }
  }
  function findingItem(f) {
    const list = $("findings-list");
    return list ? list.children[f.item] : null;
  }
  function openFinding(f) {
    scrub(T.steps.indexOf(f.step));
    for (const li of document.querySelectorAll("#findings-list li.tl-current"))
      li.classList.remove("tl-current");
    const li = findingItem(f);
    if (li) {
      li.classList.add("tl-current");
      li.scrollIntoView({ block: "nearest" });
      if (li.classList.contains("clickable")) li.click(); // the page selects the node
    }
  }
  for (const f of T.findings) {
    const li = findingItem(f);
    if (li) li.addEventListener("click", () => scrub(T.steps.indexOf(f.step)));
  }

  // ------------------------------------------------------------------ the selected node
  const side = $("side");
  const nodeBox = el("section", { id: "tl-node" }, el("h2", {}, "Over the steps"), el("div", { id: "tl-node-body" }));
  side.insertBefore(nodeBox, $("info"));

  function selectedNode() {
    for (const svg of document.querySelectorAll("#canvas svg.graph")) {
      if (svg.style.display === "none") continue;
      const g = svg.querySelector("g.node.sel");
      if (!g || g.classList.contains("group")) return null;
      const drawn = g.getAttribute("data-node");
      return (STANDS.get(drawn) || [drawn])[0];
    }
    return null;
  }
  function selectNode(id) {
    // let the page select it (its panel, ring and centring), as a click on the node does
    const g = document.querySelector('#canvas svg.graph:not([style*="none"]) g.node[data-node="' + CSS.escape(id) + '"]');
    if (g) g.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    else {
      S.node = id;
      renderNode();
    }
  }
  new MutationObserver(() => {
    S.node = selectedNode();
    renderNode();
  }).observe($("info-body"), { childList: true });

  function sparkline(key, column, title) {
    const W = 272;
    const H = 30;
    const values = key[column];
    const finite = [...values].filter(Number.isFinite);
    const svg = svgEl("svg", { width: W, height: H, class: "tl-spark", "data-column": column, role: "img" });
    if (finite.length) {
      const lo = Math.min(...finite);
      const hi = Math.max(...finite);
      const x = (i) => (N === 1 ? W / 2 : 2 + (i / (N - 1)) * (W - 4));
      const y = (v) => 3 + (hi > lo ? 1 - (v - lo) / (hi - lo) : 0.5) * (H - 6);
      drawSeries(svg, values, x, y, "tl-series");
      key.bad.forEach((b, i) => b && svg.append(svgEl("circle", { class: "bad", cx: x(i), cy: H / 2, r: 2.5 })));
      svg.append(svgEl("line", { class: "cur", x1: x(S.i), x2: x(S.i), y1: 0, y2: H }));
      svg.addEventListener("click", (e) => {
        const r = svg.getBoundingClientRect();
        scrub(Math.round(((e.clientX - r.left - 2) / (W - 4)) * (N - 1)));
      });
    }
    const now = values[S.i];
    return el(
      "div",
      { class: "tl-sparkrow" },
      el("div", { class: "tl-sparkhead" }, el("span", {}, title), el("span", { class: "tl-now" }, fmt(now))),
      svg,
    );
  }

  function renderNode() {
    const body = $("tl-node-body");
    clear(body);
    const full = T.steps[S.i] === T.full;
    document.body.classList.toggle("tl-summary-step", !full);
    if (!full && T.full !== null && T.full !== undefined) {
      body.append(
        el(
          "p",
          { class: "muted" },
          "Step " + T.steps[S.i] + " kept summary statistics: the graph is coloured by its " +
            METRIC_NAMES[S.metric] + ", the numbers in the boxes are step " + T.full + "'s. ",
          el("button", { type: "button", class: "link", id: "tl-to-full", on: { click: () => scrub(T.steps.indexOf(T.full)) } }, "full detail: step " + T.full),
        ),
      );
    }
    const k = S.node === null ? undefined : NODEKEY.get(S.node);
    if (k === undefined) {
      body.append(el("p", { class: "hint" }, "Click a node for its statistics over the " + N + " recorded steps."));
      return;
    }
    const key = T.keys[k];
    body.append(el("div", { class: "head" }, el("span", { id: "tl-node-name", class: "name" }, key.label), el("span", { class: "muted" }, "  at step " + T.steps[S.i])));
    for (const [column, title] of SPARKS) {
      if (column === "update_ratio" && key.kind !== "param") continue;
      if (![...key[column]].some(Number.isFinite)) continue;
      body.append(sparkline(key, column, title));
    }
  }

  // ------------------------------------------------------------------ scrubbing
  const slider = $("tl-slider");
  slider.max = String(N - 1);
  slider.addEventListener("input", () => scrub(Number(slider.value)));
  function scrub(i) {
    if (Number.isNaN(i)) return;
    S.i = clamp(i);
    slider.value = String(S.i);
    const step = T.steps[S.i];
    $("tl-label").textContent = "step " + step + "  (" + (S.i + 1) + " of " + N + " recorded)  loss " + fmt(LOSS[S.i]);
    const here = BY_STEP.get(S.i) || [];
    const status = $("tl-status");
    status.textContent = here.map((f) => f.text).join("; ");
    status.className = here.length ? "sev-" + here[0].severity : "";
    $("tl-cursor").style.left = xOf(S.i) + "px";
    document.body.setAttribute("data-tl-step", String(step));
    paintGraph();
    renderNode();
  }
  area.addEventListener("click", (e) => scrub(stepAt(e.clientX)));
  window.addEventListener(
    "keydown",
    (e) => {
      const t = e.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      e.stopPropagation(); // the strip takes the arrows; the replay keeps its buttons and slider
      scrub(S.i + (e.key === "ArrowRight" ? 1 : -1));
    },
    true,
  );
  function setMetric(metric) {
    S.metric = metric;
    for (const b of document.querySelectorAll("#tl-bar .seg button"))
      b.classList.toggle("on", b.dataset.metric === metric);
    $("tl-heat").setAttribute("data-metric", metric);
    drawHeat();
    paintGraph();
    renderNode();
  }
  for (const b of document.querySelectorAll("#tl-bar .seg button"))
    b.addEventListener("click", () => setMetric(b.dataset.metric));
  $("tl-ratio").disabled = !T.keys.some((k) => k.update_ratio.some(Number.isFinite));
  $("tl-grad").title = "gradient norm of each parameter (" + METRIC_NAMES.grad_norm + ")";
  $("tl-ratio").title = "update norm / weight norm of each parameter";

  function layout() {
    drawLoss();
    drawHeat();
    drawMarks();
    scrub(S.i);
  }
  drawNames();
  window.addEventListener("resize", layout);
  setMetric("grad_norm");
  layout();
  document.body.setAttribute("data-timeline", "1");
})();
