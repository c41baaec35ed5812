// gradviz interactive page: the backward replay. Step k of the recorded backward order colours
// each box by where its gradient stands (not reached, partial fan-in, running, done) and the
// edges the gradient has flowed along; play, the slider and the step buttons move k. Inlined
// after page.js, whose window.gvPage it uses and adds paintReplay, replayStatus, goStep, play
// and replayOff to. Every string reaches the DOM through textContent.
"use strict";
(function () {
  const P = window.gvPage;
  const { D, S, $, el, clear, fmt, label, NODES, STEPS, NSTEPS, VIEWS } = P;
  const { current, members, reveal, ring, setView } = P;

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

  Object.assign(P, { paintReplay, replayStatus, goStep, play, replayOff });
})();
