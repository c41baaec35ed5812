// gradviz interactive page: repeated blocks. A run of identical sibling modules is drawn once,
// labelled "blocks.0–11 (Block) ×12"; this adds an "unfold" control on each folded block that
// lists its instances and switches to the same depth drawn with every instance (embedded as
// the folded picture's twin), with the chosen instance selected; the unfolded picture has a
// "fold repeats" button back. Inlined after page.js, whose window.gvPage it uses. Every
// string reaches the DOM through textContent.
"use strict";
(function () {
  const P = window.gvPage;
  if (!P) return;
  const { D, S, $, el } = P;
  const SVGNS = "http://www.w3.org/2000/svg";

  const css = document.createElement("style");
  css.textContent = [
    "g.fold-ctl { cursor: pointer; }",
    "g.fold-ctl rect { fill: #2a7f7a; stroke: #1d5c58; }",
    "g.fold-ctl:hover rect { fill: #1d5c58; }",
    "g.fold-ctl text { fill: #fff; font: bold 11px Helvetica, Arial, sans-serif; }",
    "#fold-menu { position: absolute; z-index: 5; max-height: 60%; overflow: auto;",
    "  background: #fff; border: 1px solid #9e9e9e; border-radius: 4px; padding: 4px 0;",
    "  box-shadow: 0 2px 8px rgba(0,0,0,.2); font-size: 12px; cursor: default; }",
    "#fold-menu .head { padding: 2px 10px 4px; color: #555; border-bottom: 1px solid #eee; }",
    "#fold-menu button { display: block; width: 100%; text-align: left; border: 0;",
    "  background: none; padding: 3px 10px; font: inherit; cursor: pointer; }",
    "#fold-menu button:hover, #fold-menu button:focus { background: #d4ecea; }",
    "#fold-bar { position: absolute; left: 10px; top: 10px; z-index: 4; padding: 4px 8px;",
    "  background: #d4ecea; border: 1px solid #2a7f7a; border-radius: 4px; font-size: 12px; }",
    "#fold-bar button { margin-left: 6px; }",
  ].join("\n");
  document.head.appendChild(css);

  const variants = () => D.views[S.view];
  const variant = () => variants()[S.variant[S.view]];
  let menu = null;
  function closeMenu() {
    if (menu) menu.remove();
    menu = null;
  }

  function labelDepths() {
    // the depth menu lists each folded picture and its unfolded twin: say which is which
    const options = $("depth").options;
    variants().forEach((v, i) => {
      if (!options[i]) return;
      if (v.unfolded !== undefined) options[i].textContent += " · repeats unfolded";
      else if (v.folds) options[i].textContent += " · repeats folded";
    });
  }

  function foldElement(inst, fold) {
    if (fold.box) return inst.byDrawn.get(fold.box) || null;
    for (const g of inst.svg.querySelectorAll("g.cluster")) {
      const title = g.querySelector("title");
      if (title && title.textContent === fold.cluster) return g;
    }
    return null;
  }

  function addControl(inst, fold) {
    const target = foldElement(inst, fold);
    if (!target) return;
    const b = target.getBBox();
    const text = "unfold ×" + fold.instances.length + " ▾";
    const w = 7 * text.length + 8;
    const h = 16;
    const x = b.x + b.width - w - 4;
    const y = fold.box ? b.y - h - 2 : b.y + 4;
    const ctl = document.createElementNS(SVGNS, "g");
    ctl.setAttribute("class", "fold-ctl");
    const rect = document.createElementNS(SVGNS, "rect");
    for (const [k, v] of Object.entries({ x, y, width: w, height: h, rx: 3 })) rect.setAttribute(k, v);
    const label = document.createElementNS(SVGNS, "text");
    label.setAttribute("x", x + w / 2);
    label.setAttribute("y", y + 12);
    label.setAttribute("text-anchor", "middle");
    label.textContent = text;
    const tip = document.createElementNS(SVGNS, "title");
    tip.textContent =
      fold.span + ": " + fold.instances.length + " identical blocks drawn as the first, with its " +
      "statistics; choose an instance to draw them all";
    ctl.append(tip, rect, label);
    ctl.addEventListener("pointerdown", (e) => e.stopPropagation());
    ctl.addEventListener("click", (e) => {
      e.stopPropagation();
      openMenu(fold, e);
    });
    target.appendChild(ctl);
  }

  function openMenu(fold, e) {
    closeMenu();
    const stage = $("stage");
    const st = stage.getBoundingClientRect();
    menu = el("div", { id: "fold-menu", role: "menu" });
    menu.appendChild(el("div", { class: "head" }, fold.span + (fold.class ? " (" + fold.class + ")" : "")));
    fold.instances.forEach((path, i) => {
      const item = el("button", { type: "button", role: "menuitem" }, path + (i === 0 ? "  (drawn)" : ""));
      item.addEventListener("click", () => unfold(path));
      menu.appendChild(item);
    });
    menu.style.left = Math.max(4, e.clientX - st.left - 20) + "px";
    menu.style.top = Math.max(4, e.clientY - st.top + 8) + "px";
    for (const ev of ["pointerdown", "wheel", "click"]) menu.addEventListener(ev, (x) => x.stopPropagation());
    stage.appendChild(menu);
    const first = menu.querySelector("button");
    if (first) first.focus();
  }

  function unfold(path) {
    closeMenu();
    const twin = variant().twin;
    if (twin === undefined) return;
    S.variant[S.view] = twin;
    P.show();
    const members = D.nodes
      .filter((n) => n.module === path || (n.module || "").startsWith(path + "."))
      .map((n) => n.id);
    P.select({ group: path, members }, false);
    const g = P.selectedElement(P.current());
    if (g) P.reveal(g, true, 0.6);
  }

  function foldBack() {
    const back = variant().unfolded;
    if (back === undefined) return;
    S.variant[S.view] = back;
    P.show();
    const g = P.selectedElement(P.current());
    if (g) P.reveal(g);
  }

  function bar(v) {
    let node = $("fold-bar");
    if (v.unfolded === undefined) {
      if (node) node.remove();
      return;
    }
    if (node) return;
    const button = el("button", { type: "button" }, "fold repeats");
    button.addEventListener("click", foldBack);
    node = el("div", { id: "fold-bar" }, "repeated blocks unfolded", button);
    for (const ev of ["pointerdown", "click"]) node.addEventListener(ev, (x) => x.stopPropagation());
    $("stage").appendChild(node);
  }

  function onShow() {
    closeMenu();
    labelDepths();
    const inst = P.current();
    const v = inst.variant;
    bar(v);
    if (v.folds && !inst.svg.hasAttribute("data-folds")) {
      inst.svg.setAttribute("data-folds", String(v.folds.length));
      for (const fold of v.folds) addControl(inst, fold);
    }
  }

  document.addEventListener("gv:show", onShow);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && menu) {
      closeMenu();
      e.stopPropagation();
    }
  }, true);
  $("stage").addEventListener("pointerdown", closeMenu);
  onShow();
})();
