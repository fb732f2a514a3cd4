// Search by photo: drop, paste or choose a photo; its faces are drawn as boxes to pick from.
"use strict";
(() => {
  const zone = document.getElementById("photo-drop");
  const input = document.getElementById("photo-input");
  const area = document.getElementById("photo-area");
  const wrap = document.getElementById("photo-wrap");
  const img = document.getElementById("photo");
  const status = document.getElementById("search-status");
  const results = document.getElementById("results");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let photo = null;

  function drawBoxes(faces, chosen) {
    wrap.querySelectorAll("button.box").forEach((b) => b.remove());
    if (faces.length < 2) return;
    const w = img.naturalWidth, h = img.naturalHeight;
    faces.forEach((face) => {
      const [x, y, bw, bh] = face.box;
      const box = document.createElement("button");
      box.type = "button";
      box.className = "box";
      box.setAttribute("aria-pressed", String(face.number === chosen));
      box.setAttribute("aria-label", `Face ${face.number + 1} of ${faces.length}`);
      Object.assign(box.style, { left: `${(100 * x) / w}%`, top: `${(100 * y) / h}%`,
        width: `${(100 * bw) / w}%`, height: `${(100 * bh) / h}%` });
      box.addEventListener("click", () => search(face.number));
      wrap.append(box);
    });
  }

  async function search(faceNumber) {
    const form = new FormData();
    form.append("photo", photo);
    if (faceNumber !== undefined) form.append("face", String(faceNumber));
    status.textContent = "Searching…";
    const response = await fetch(zone.dataset.url, {
      method: "POST", body: form, headers: { Accept: "application/json", "X-CSRFToken": csrf },
    });
    const body = await response.json();
    if (!response.ok) {
      status.textContent = body.error ? body.error.message : "The search failed.";
      results.replaceChildren();
      return;
    }
    const faces = body.faces.length;
    status.textContent = faces > 1 ? `${faces} faces in the photo: pick one on it.` : "";
    if (img.complete && img.naturalWidth) drawBoxes(body.faces, body.chosen_face);
    else img.addEventListener("load", () => drawBoxes(body.faces, body.chosen_face), { once: true });
    results.innerHTML = body.html;
  }

  function use(file) {
    if (!file || !file.type.startsWith("image/")) { status.textContent = "That is not a photo."; return; }
    photo = file;
    img.src = URL.createObjectURL(file);
    area.hidden = false;
    search();
  }

  zone.addEventListener("click", () => input.click());
  zone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });
  input.addEventListener("change", () => use(input.files[0]));
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (e) => { e.preventDefault(); use(e.dataTransfer.files[0]); });
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
    if (item) use(item.getAsFile());
  });
})();
