// Add videos: files (dropped or chosen, each uploaded with its own progress bar), a URL, a batch
// of URLs; every job made here is then followed live through the jobs JSON.
"use strict";
const FaaaaacesAdd = (() => {
  const { el, bar, renderJob, poll, csrf } = FaaaaacesJobs;
  const rows = new Map(); // job id -> its row in #followed
  let followed;

  function show(row) {
    document.getElementById("followed-empty")?.remove();
    if (!row.isConnected) followed.prepend(row);
  }

  function follow(jobId, row) {
    row = row || el("div");
    rows.set(jobId, row);
    show(row);
  }

  function errorOf(xhrOrBody) {
    try { return xhrOrBody.error.message; } catch (e) { return "The server refused it."; }
  }

  function upload(file, uploadUrl, maxBytes) {
    const row = el("div", { class: "job uploading", "data-file": file.name });
    const label = el("div", { class: "row" }, el("strong", { text: "Upload" }),
      el("span", { class: "source", text: file.name }));
    const status = el("div", { class: "small" });
    const progress = bar(0, `Upload of ${file.name}`);
    row.append(label, progress, status);
    show(row);
    if (file.size > maxBytes) { // refused before a byte is sent
      row.className = "job failed";
      status.replaceChildren(el("span", { class: "error", text:
        `Refused: ${(file.size / 1048576).toFixed(0)} MB is over the ${maxBytes / 1048576} MB limit.` }));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((100 * e.loaded) / e.total);
      progress.firstChild.style.width = `${percent}%`;
      progress.setAttribute("aria-valuenow", String(percent));
      status.textContent = `Uploading · ${percent}%`;
    };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 202) {
        status.textContent = "Uploaded · queued";
        follow(body.job_id, row);
      } else {
        row.className = "job failed";
        status.replaceChildren(el("span", { class: "error", text: `Refused: ${errorOf(body)}` }));
      }
    };
    xhr.onerror = () => {
      row.className = "job failed";
      status.replaceChildren(el("span", { class: "error", text: "The upload was interrupted." }));
    };
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  }

  async function addUrls(urls, postUrl, results) {
    results.replaceChildren();
    const response = await fetch(postUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ urls }),
    });
    const body = await response.json();
    if (!response.ok) { results.append(el("li", { class: "error", text: errorOf(body) })); return; }
    body.jobs.forEach((entry, i) => {
      const line = el("li", { class: "line-result", "data-line": String(i + 1) },
        el("code", { text: entry.url }), el("span", { text: " — " }),
        entry.job_id ? el("span", { class: "status-done", text: `queued as job ${entry.job_id}` })
                     : el("span", { class: "error", text: entry.error }));
      results.append(line);
      if (entry.job_id) follow(entry.job_id);
    });
  }

  function start(jobsUrl) {
    followed = document.getElementById("followed");
    const zone = document.getElementById("dropzone");
    const input = document.getElementById("file-input");
    const maxBytes = Number(zone.dataset.maxMb) * 1048576;
    const send = (files) => [...files].forEach((f) => upload(f, zone.dataset.uploadUrl, maxBytes));
    zone.addEventListener("click", () => input.click());
    zone.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
    });
    input.addEventListener("change", () => { send(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => {
      e.preventDefault(); zone.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
    zone.addEventListener("drop", (e) => { e.preventDefault(); send(e.dataTransfer.files); });

    const urlForm = document.getElementById("url-form");
    urlForm.addEventListener("submit", (e) => {
      e.preventDefault();
      addUrls([urlForm.url.value.trim()], urlForm.dataset.url, document.getElementById("url-results"));
      urlForm.reset();
    });
    const batchForm = document.getElementById("batch-form");
    batchForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const urls = batchForm.urls.value.split("\n").map((l) => l.trim()).filter(Boolean);
      if (urls.length) addUrls(urls, batchForm.dataset.url, document.getElementById("batch-results"));
    });

    // Only the jobs still running are asked about.
    const running = () => [...rows].filter(([, row]) => !["done", "failed"].includes(row.dataset.status));
    poll(() => {
      const ids = running().map(([id]) => id);
      return ids.length ? `${jobsUrl}?ids=${ids.join(",")}` : null;
    }, (data) => {
      (data.jobs || []).forEach((job) => rows.has(job.id) && renderJob(job, rows.get(job.id)));
    }, 1000);
  }
  return { start };
})();
