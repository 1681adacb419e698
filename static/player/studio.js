// Studio: upload with a progress bar (XHR to the videos API, session + CSRF), then follow each
// transcode by polling GET /api/videos/{id}/job until the video is ready or failed.
(function () {
  "use strict";
  const form = document.getElementById("upload");
  const api = form.dataset.api;
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const bar = document.getElementById("upload-progress");
  const note = document.getElementById("upload-status");
  const tbody = document.querySelector("#my-videos tbody");
  const ACTIVE = ["uploaded", "queued", "processing"];
  // Video.Status's labels: a finished job leaves the video ready, failed, or (outputs deleted) uploaded.
  const STATUS_LABELS = { uploaded: "Uploaded", queued: "Queued", processing: "Processing", ready: "Ready", failed: "Failed" };
  const POLL_MS = 1500;

  const getJSON = (url) => fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)));

  function follow(row) {
    const id = row.dataset.video;
    const progress = row.querySelector("progress");
    const state = row.querySelector(".job-state");
    const status = row.querySelector(".video-status");
    const tick = () => getJSON(`${api}${id}/job`)
      .then((job) => {
        progress.value = job.progress;
        state.textContent = `${Math.round(job.progress)}% ${job.state}`;
        if (job.state === "queued" || job.state === "running") {
          status.textContent = job.state === "running" ? "Processing" : "Queued";
          return setTimeout(tick, POLL_MS);
        }
        return getJSON(`${api}${id}`).then((video) => {
          row.dataset.status = video.status;
          status.textContent = STATUS_LABELS[video.status] || video.status;
          if (video.error_message) {
            const error = document.createElement("div");
            error.className = "error";
            error.textContent = video.error_message;
            status.appendChild(error);
          }
          if (video.thumbnail_url && !row.querySelector("img")) {
            const img = document.createElement("img");
            img.src = video.thumbnail_url;
            img.alt = "";
            row.cells[0].appendChild(img);
          }
        });
      })
      .catch(() => setTimeout(tick, POLL_MS * 2));  // no job yet, or a network blip: try again
    tick();
  }

  function addRow(video) {
    tbody.querySelector("tr.empty")?.remove();
    const row = document.createElement("tr");
    row.dataset.video = video.id;
    row.dataset.status = video.status;
    const link = document.createElement("a");
    link.href = `/watch/${video.id}`;
    link.textContent = video.title;
    row.innerHTML = '<td></td><td class="title"></td><td></td><td class="video-status"></td>' +
      '<td><progress max="100" value="0"></progress> <span class="job-state status"></span></td>';
    row.cells[1].appendChild(link);
    row.cells[2].textContent = video.visibility;
    row.cells[3].textContent = video.status;
    tbody.prepend(row);
    return row;
  }

  document.querySelectorAll("#my-videos tr[data-video]").forEach((row) => {
    if (ACTIVE.includes(row.dataset.status)) follow(row);
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = form.elements.file.files[0];
    if (file && file.size > Number(form.dataset.maxBytes)) {
      note.textContent = `The file is ${file.size} bytes; the largest upload allowed is ${form.dataset.maxBytes} bytes.`;
      return;
    }
    const data = new FormData(form);
    data.delete("csrfmiddlewaretoken");
    for (const name of ["price", "stream_rate"]) if (!data.get(name)) data.delete(name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", api);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    bar.value = 0;
    note.textContent = "Uploading…";
    form.querySelector("button[type=submit]").disabled = true;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.value = (100 * e.loaded) / e.total;
        note.textContent = `Uploading… ${Math.round(bar.value)}%`;
      }
    });
    xhr.addEventListener("loadend", () => {
      form.querySelector("button[type=submit]").disabled = false;
      let body = {};
      try { body = JSON.parse(xhr.responseText || "{}"); } catch (error) { body = {}; }
      if (xhr.status === 201) {
        bar.value = 100;
        note.textContent = `Uploaded “${body.title}”: transcoding.`;
        form.reset();
        follow(addRow(body));
      } else {
        note.textContent = body.message || `The upload failed (HTTP ${xhr.status || "network error"}).`;
      }
    });
    xhr.send(data);
  });
})();
