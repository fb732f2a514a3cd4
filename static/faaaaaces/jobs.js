// Live job progress: renders jobs from the JSON the server gives (/jobs.json) and polls it.
"use strict";
const FaaaaacesJobs = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    children.forEach((c) => c && node.append(c));
    return node;
  }

  function bar(percent, label) {
    const inner = el("span"); inner.style.width = `${percent}%`;
    return el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0",
      "aria-valuemax": "100", "aria-valuenow": String(percent), "aria-label": label }, inner);
  }

  // One job as a row; `row` is reused when given, so a page can keep its own rows.
  function renderJob(job, row = el("div")) {
    row.className = `job ${job.status}`;
    row.dataset.jobId = job.id;
    row.dataset.status = job.status;
    row.replaceChildren(
      el("div", { class: "row" }, el("strong", { text: job.kind }),
        el("span", { class: "source", text: job.source })),
      bar(job.progress, `Job ${job.id}`),
      el("div", { class: "small" },
        el("span", { class: `status status-${job.status}`, text: job.status }),
        el("span", { text: ` · ${job.stage} · ` }),
        el("span", { class: "percent", text: `${job.progress}%` }),
        job.video_url && job.status === "done" ? el("span", { text: " · " }) : null,
        job.video_url && job.status === "done" ? el("a", { href: job.video_url, text: "Open the video" }) : null),
    );
    const button = (action, text) => el("form", { method: "post", action },
      el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf() }),
      el("button", { type: "submit", text }));
    if (job.status === "failed" || job.status === "cancelled") {
      row.append(el("p", { class: "error small", text: job.error }), button(job.retry_url, "Retry"));
    } else if (job.status === "queued" || job.status === "running") {
      if (job.error) row.append(el("p", { class: "muted small", text: job.error }));
      row.append(button(job.cancel_url, "Cancel"));
    }
    (job.warnings || []).forEach((w) => row.append(el("p", { class: "warning small", text: w })));
    return row;
  }

  function renderList(container, jobs, emptyText) {
    if (!jobs.length) { container.replaceChildren(el("p", { class: "muted", text: emptyText })); return; }
    container.replaceChildren(...jobs.map((job) => renderJob(job)));
  }

  function poll(url, onData, everyMs = 1000) {
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      const address = url(); // null: nothing to ask about yet
      try {
        if (address) {
          const response = await fetch(address, { headers: { Accept: "application/json" } });
          if (response.ok) onData(await response.json());
        }
      } catch (e) { /* the next tick tries again */ }
      setTimeout(tick, everyMs);
    };
    tick();
    return () => { stopped = true; };
  }

  // The jobs and the catalog's counts (elements with data-count="videos" and so on).
  function followDashboard(url, inProgress, failed) {
    poll(() => `${url}?counts=1`, (data) => {
      renderList(inProgress, data.in_progress, "No job is running.");
      renderList(failed, data.failed, "No failed job.");
      for (const [name, value] of Object.entries(data.counts || {})) {
        const shown = document.querySelector(`[data-count="${name}"] b`);
        if (shown) shown.textContent = String(value);
      }
    }, 1500);
  }

  return { el, bar, renderJob, renderList, poll, followDashboard, csrf };
})();
