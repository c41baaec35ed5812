// gradviz interactive page: the side panel (a node's values, gradients, histograms and links;
// a module's contents; the overview), the findings list and the legend. Inlined after page.js,
// whose window.gvPage it uses and adds renderInfo, renderFindings and renderLegend to. Every
// string reaches the DOM through textContent.
"use strict";
(function () {
  const P = window.gvPage;
  const { D, S, $, el, svgEl, clear, fmt, num, label, shapeText, NODES, NSTEPS, VIEWS } = P;
  const { instance, current, select, setView, expandGroup, deeperVariant } = P;

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

  // an op of a graph rule (create_graph=True): the op it is part of the derivative of
  function derivative(d) {
    const where = d.rule ? " in \u2202 " + d.rule : d.module ? " in " + d.module : "";
    const what = NODES.has(d.node) ? chip(d.node) : el("b", {}, d.op || d.node);
    const op = d.op || "op";
    return [what, where + ": part of \u2202 " + op + ", the ops that compute what PyTorch's " + op + "Backward0 does (create_graph=True)"];
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
    if (n.deriv) rows.push(row("derivative of", ...derivative(n.deriv)));
    if (n.step !== undefined && n.step !== null) {
      rows.push(
        row(
          "backward step",
          "#" + n.step + " of " + NSTEPS + " ",
          el("button", { type: "button", class: "link", on: { click: () => P.goStep(n.step) } }, "replay to here"),
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
        D.nodes.some((n) => n.deriv) && item("rule", "\u2202 Op: the ops of Op's derivative (create_graph=True)", null),
        item("box", "NaN / Inf", c.nan),
        item("grad", "backward: |grad| small → large (log)", null),
      ),
    );
    const grad = body.querySelector(".sw.grad");
    grad.style.background = "linear-gradient(90deg," + c.magnitude.join(",") + ")";
    const rule = body.querySelector(".sw.rule");
    if (rule) rule.style.borderColor = c.rule;
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

  Object.assign(P, { renderInfo, renderFindings, renderLegend });
})();
