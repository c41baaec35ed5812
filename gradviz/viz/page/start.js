// gradviz interactive page: the keyboard and the start. Inlined after page.js, panel.js,
// replay.js and images.js (whose functions it calls through window.gvPage) and before fold.js.
"use strict";
(function () {
  const P = window.gvPage;
  const { D, S, $, NSTEPS, current, fit, zoomCentre, select, goStep, play, replayOff } = P;

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

  const bits = [D.script, D.modules[""], D.pass ? "backward call #" + D.pass : null].filter(Boolean);
  $("title").textContent = bits.join(" · ");
  if (D.notes && D.notes.length) {
    $("note").textContent = D.notes.join(" ");
    $("note").hidden = false;
  }
  P.renderFindings();
  P.renderLegend();
  P.show();
  P.renderInfo();
  P.replayStatus();
  document.body.setAttribute("data-ready", "1");
})();
