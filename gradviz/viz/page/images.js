// gradviz page: values that are pictures. Draws a node's "pv" (value) and "pg" (gradient)
// previews (gradviz/viz/records/preview.py) as canvases: a grid of channel images, a grid of
// conv filters or one heatmap, with its colour scale. panel.js calls
// window.gradvizImages.panel(node, fmt) when it fills the node panel. Plain JS, no network.
(function () {
  "use strict";
  const LEVELS = 253; // codes 0..252: min..max; then -inf, +inf, NaN
  const NEG_INF = 253;
  const POS_INF = 254;
  const NAN = 255;
  const WIDTH = 288; // CSS pixels the pictures may fill in the side panel
  const GAP = 3;
  // sequential (non-negative data): viridis; diverging (signed data, 0 in the middle): blue-white-red
  const SEQUENTIAL = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
  const DIVERGING = ["#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b"];
  const SPECIAL = { [NEG_INF]: "#262626", [POS_INF]: "#bdbdbd", [NAN]: "#ff00ff" };
  const SPECIAL_TEXT = { [NEG_INF]: "-inf", [POS_INF]: "+inf", [NAN]: "NaN" };
  let showing = "value"; // the toggle's choice, kept from node to node

  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  function colourAt(stops, t) {
    const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const a = rgb(stops[i]);
    const b = rgb(stops[i + 1]);
    return a.map((v, k) => Math.round(v + (b[k] - v) * (x - i)));
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // the colour scale of a preview: which stops, and the value range they span
  function scaleOf(p) {
    const lo = Number(p.min);
    const hi = Number(p.max);
    if (p.min === null || p.min === undefined) return null;
    if (lo < 0 && hi > 0) {
      const m = Math.max(-lo, hi);
      return { stops: DIVERGING, lo: -m, hi: m, diverging: true, min: lo, max: hi };
    }
    return { stops: SEQUENTIAL, lo, hi, diverging: false, min: lo, max: hi };
  }

  // RGBA of every code 0..255
  function lookup(p, scale) {
    const lut = new Uint8ClampedArray(256 * 4);
    for (let q = 0; q < 256; q++) {
      let c;
      if (SPECIAL[q]) c = rgb(SPECIAL[q]);
      else if (!scale) c = [255, 255, 255];
      else {
        const v = scale.min + (q * (scale.max - scale.min)) / (LEVELS - 1);
        const t = scale.hi > scale.lo ? (v - scale.lo) / (scale.hi - scale.lo) : 0.5;
        c = colourAt(scale.stops, t);
      }
      lut.set([c[0], c[1], c[2], 255], q * 4);
    }
    return lut;
  }

  function decode(data) {
    const text = atob(data);
    const codes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) codes[i] = text.charCodeAt(i);
    return codes;
  }

  // how the maps were cut from the array, in words
  function describe(p, shape) {
    const range = (n, total, what) =>
      n === total ? (total === 1 ? "the one " + what : "all " + total + " " + what + "s") : what + "s 0–" + (n - 1) + " of " + total;
    let text;
    if (p.grid === "filters") {
      const inputs = shape[1];
      text = range(p.maps, p.total, "filter") + (inputs === 1 ? " (1 input channel)" : ", each the mean over its " + inputs + " input channels");
    } else if (p.grid === "channels") text = "sample 0: " + range(p.maps, p.total, "channel") + " (axis 1)";
    else text = shape.length === 3 ? "the first of " + shape[0] + " (index 0 of axis 0)" : "the whole " + shape.join(" × ") + " matrix";
    if (shape.length === 5) text += "; depth slice 0 of " + shape[2] + " (axis 2)";
    if (p.stride > 1) text += "; every " + ordinal(p.stride) + " row and column";
    return text;
  }

  function ordinal(k) {
    const ends = { 1: "st", 2: "nd", 3: "rd" };
    return k + (k % 100 >= 11 && k % 100 <= 13 ? "th" : ends[k % 10] || "th");
  }

  function maps(p, codes, lut) {
    const cols = p.maps === 1 ? 1 : Math.ceil(Math.sqrt(p.maps));
    const room = Math.floor((WIDTH - GAP * (cols - 1)) / cols);
    const fitScale = Math.min(room / p.width, (p.maps === 1 ? WIDTH : room) / p.height);
    const scale = fitScale >= 1 ? Math.floor(fitScale) : fitScale; // whole pixels when enlarged
    const grid = el("div", "gv-grid");
    grid.style.gridTemplateColumns = "repeat(" + cols + ", max-content)";
    const size = p.height * p.width;
    for (let k = 0; k < p.maps; k++) {
      const canvas = el("canvas", "gv-map");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", (p.grid === "filters" ? "filter " : p.grid === "channels" ? "channel " : "map ") + k);
      canvas.width = p.width;
      canvas.height = p.height;
      canvas.style.width = p.width * scale + "px";
      canvas.style.height = p.height * scale + "px";
      const ctx = canvas.getContext("2d");
      const img = ctx.createImageData(p.width, p.height);
      for (let i = 0; i < size; i++) img.data.set(lut.subarray(codes[k * size + i] * 4, codes[k * size + i] * 4 + 4), i * 4);
      ctx.putImageData(img, 0, 0);
      const cell = el("div", "gv-cell");
      cell.appendChild(canvas);
      if (p.maps > 1) cell.appendChild(el("span", null, String(k)));
      grid.appendChild(cell);
    }
    return grid;
  }

  function legend(scale, codes, fmt) {
    const box = el("div", "gv-scale");
    if (scale) {
      const bar = el("div", "gv-bar");
      bar.style.background = "linear-gradient(90deg," + scale.stops.join(",") + ")";
      box.appendChild(bar);
      const ticks = el("div", "gv-ticks");
      ticks.appendChild(el("span", null, fmt(scale.lo)));
      if (scale.diverging) ticks.appendChild(el("span", null, "0"));
      ticks.appendChild(el("span", null, fmt(scale.hi)));
      box.appendChild(ticks);
      const kind = scale.diverging ? "diverging, centred on 0" : "sequential";
      box.appendChild(el("div", "gv-range", "shown: min " + fmt(scale.min) + ", max " + fmt(scale.max) + " (" + kind + ")"));
    } else box.appendChild(el("div", "gv-range", "no finite element"));
    for (const q of [NEG_INF, POS_INF, NAN]) {
      if (!codes.includes(q)) continue;
      const item = el("span", "gv-special");
      const sw = el("span", "sw");
      sw.style.background = SPECIAL[q];
      item.append(sw, SPECIAL_TEXT[q]);
      box.appendChild(item);
    }
    return box;
  }

  function picture(p, which, shape, fmt) {
    const codes = decode(p.data);
    const scale = scaleOf(p);
    const wrap = el("div", "gv-picture");
    wrap.setAttribute("data-which", which);
    wrap.appendChild(el("div", "gv-what", describe(p, shape)));
    wrap.appendChild(maps(p, codes, lookup(p, scale)));
    wrap.appendChild(legend(scale, codes, fmt));
    return wrap;
  }

  function panel(n, fmt) {
    const given = { value: n.pv, gradient: n.pg };
    if (!given.value && !given.gradient) return null;
    const box = el("div", "gv-images");
    const head = el("h3", null, "picture ");
    const seg = el("span", "gv-toggle");
    const pictures = {};
    const buttons = {};
    const choose = (which, remember) => {
      if (remember) showing = which;
      for (const w of Object.keys(pictures)) pictures[w].hidden = w !== which;
      for (const w of Object.keys(buttons)) buttons[w].classList.toggle("on", w === which);
    };
    for (const which of ["value", "gradient"]) {
      const b = el("button", null, which);
      b.type = "button";
      b.setAttribute("data-which", which);
      b.disabled = !given[which];
      b.addEventListener("click", () => choose(which, true));
      buttons[which] = b;
      seg.appendChild(b);
      if (given[which]) {
        pictures[which] = picture(given[which], which, n.shape || [], fmt);
        box.appendChild(pictures[which]);
      }
    }
    head.appendChild(seg);
    box.insertBefore(head, box.firstChild);
    choose(given[showing] ? showing : given.value ? "value" : "gradient");
    return box;
  }

  window.gradvizImages = { panel };
})();
