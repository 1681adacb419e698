// Admin video page: follow the latest transcode (GET /api/videos/{id}/job with the staff session)
// while it is queued or running, so the status changes on screen without a reload.
(function () {
  "use strict";
  const box = document.getElementById("transcode-status");
  if (!box) return;
  const POLL_MS = 1000;
  // Every state this page has shown, the server-rendered one first (people and tests can read it).
  const states = (window.transcodeStates = box.dataset.jobState ? [box.dataset.jobState] : []);
  const ensure = (selector, make) => box.querySelector(selector) || box.appendChild(make());
  const tick = () => fetch(box.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((job) => {
      const state = ensure(".job-state", () => Object.assign(document.createElement("span"), { className: "job-state" }));
      const bar = ensure("progress", () => Object.assign(document.createElement("progress"), { max: 100 }));
      const percent = ensure(".job-progress", () => Object.assign(document.createElement("span"), { className: "job-progress" }));
      state.textContent = job.state;
      bar.value = job.progress;
      percent.textContent = `${Math.round(job.progress)}%`;
      const video = box.querySelector(".video-status");
      video.textContent = { queued: "Queued", running: "Processing", succeeded: "Ready", failed: "Failed" }[job.state] || video.textContent;
      box.dataset.jobState = job.state;
      if (states[states.length - 1] !== job.state) states.push(job.state);
      if (job.state === "queued" || job.state === "running") setTimeout(tick, POLL_MS);
    })
    .catch(() => {});  // no transcode yet: nothing to follow
  tick();
})();
