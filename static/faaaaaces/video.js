// The video page: start at ?t=, seek where a face or a timeline segment is, move the playhead.
"use strict";
(() => {
  const player = document.getElementById("player");
  const timeline = document.getElementById("timeline");
  const duration = () => player.duration || Number(timeline.dataset.duration) || 1;
  const start = Number(player.dataset.start) || 0;
  const seek = (t) => { player.currentTime = t; player.focus(); };
  if (start > 0) {
    if (player.readyState >= 1) seek(start);
    else player.addEventListener("loadedmetadata", () => seek(start), { once: true });
  }
  document.addEventListener("click", (e) => {
    const target = e.target.closest("[data-seek]");
    if (target) seek(Number(target.dataset.seek));
  });
  player.addEventListener("timeupdate", () => {
    const left = `${(100 * player.currentTime) / duration()}%`;
    timeline.querySelectorAll(".playhead").forEach((p) => { p.style.left = left; });
  });
})();
