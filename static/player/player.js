// Flowcast player: hls.js over the master playlist, a quality menu from the ladder,
// storyboard thumbnails over the seek bar. State is exposed on window.flowcastPlayer
// so people (and tests) can see what the player did.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("player-config").textContent);
  const video = document.getElementById("video");
  const state = (window.flowcastPlayer = { levels: [], fragmentsLoaded: 0, fatalError: null, engine: null });
  if (!video) return;
  if (config.locked) {
    // A paid video with the wallet checkout: once the playback API says yes, play here, without a reload.
    if (config.checkout) {
      window.addEventListener("flowcast:playable", (event) => {
        const playback = (event.detail && event.detail.playback) || {};
        if (!playback.master_url || state.engine) return;
        const locked = document.querySelector("#player .locked");
        if (locked) locked.hidden = true;
        video.hidden = false;
        document.getElementById("controls").hidden = false;
        state.unlocked = true;
        start(playback.master_url);
      });
    }
    return;
  }
  if (!config.master_url) return;
  start(config.master_url);

  function start(masterUrl) {

  const quality = document.getElementById("quality");
  const seek = document.getElementById("seek");
  const clock = document.getElementById("clock");
  const play = document.getElementById("play");
  const mute = document.getElementById("mute");
  const preview = document.getElementById("preview");
  const previewTime = document.getElementById("preview-time");

  const fmt = (t) => {
    t = Math.max(0, Math.floor(t || 0));
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = String(t % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  };

  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls({ capLevelToPlayerSize: false });
    state.engine = "hls.js";
    state.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      state.levels = data.levels.map((level, index) => ({ index, width: level.width, height: level.height, bitrate: level.bitrate }));
      [...state.levels].sort((a, b) => b.height - a.height).forEach((level) => {
        const option = document.createElement("option");
        option.value = level.index;
        option.textContent = `${level.height}p (${Math.round(level.bitrate / 1000)} kb/s)`;
        quality.appendChild(option);
      });
    });
    hls.on(Hls.Events.FRAG_LOADED, () => { state.fragmentsLoaded += 1; });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => { state.currentLevel = data.level; });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) {
        state.fatalError = `${data.type}: ${data.details}`;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      }
    });
    hls.loadSource(masterUrl);
    hls.attachMedia(video);
    quality.addEventListener("change", () => { hls.currentLevel = Number(quality.value); });
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    state.engine = "native";
    video.src = masterUrl;
    quality.disabled = true;
  } else {
    state.fatalError = "This browser cannot play HLS.";
  }

  play.addEventListener("click", () => (video.paused ? video.play() : video.pause()));
  video.addEventListener("play", () => { play.textContent = "Pause"; });
  video.addEventListener("pause", () => { play.textContent = "Play"; });
  mute.addEventListener("click", () => { video.muted = !video.muted; mute.textContent = video.muted ? "Unmute" : "Mute"; });
  video.addEventListener("loadedmetadata", () => { seek.max = video.duration; });
  video.addEventListener("timeupdate", () => {
    if (!seek.matches(":active")) seek.value = video.currentTime;
    clock.textContent = `${fmt(video.currentTime)} / ${fmt(video.duration || config.duration)}`;
  });
  seek.addEventListener("input", () => { video.currentTime = Number(seek.value); });

  // Storyboard: a WebVTT file whose cues point at regions of one sprite image (url#xywh=x,y,w,h).
  const cues = [];
  const parseTime = (text) => text.split(":").reduce((total, part) => total * 60 + parseFloat(part), 0);
  if (config.storyboard_vtt_url) {
    fetch(config.storyboard_vtt_url, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : ""))
      .then((text) => {
        const base = new URL(config.storyboard_vtt_url, window.location.href);
        for (const block of text.split(/\r?\n\r?\n/)) {
          const lines = block.trim().split(/\r?\n/);
          const timing = lines.findIndex((line) => line.includes("-->"));
          if (timing < 0 || !lines[timing + 1]) continue;
          const [start, end] = lines[timing].split("-->").map((part) => parseTime(part.trim().split(" ")[0]));
          const [file, fragment] = lines[timing + 1].trim().split("#xywh=");
          if (!fragment) continue;
          const [x, y, w, h] = fragment.split(",").map(Number);
          cues.push({ start, end, url: new URL(file, base).href, x, y, w, h });
        }
        state.storyboardCues = cues.length;
      });
  }
  seek.addEventListener("mousemove", (event) => {
    if (!cues.length) return;
    const rect = seek.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    const time = fraction * (Number(seek.max) || config.duration || 0);
    const cue = cues.find((c) => time >= c.start && time < c.end) || cues[cues.length - 1];
    Object.assign(preview.style, {
      display: "block", width: `${cue.w}px`, height: `${cue.h}px`,
      left: `${Math.max(0, event.clientX - rect.left - cue.w / 2)}px`,
      backgroundImage: `url("${cue.url}")`, backgroundPosition: `-${cue.x}px -${cue.y}px`,
    });
    previewTime.textContent = fmt(time);
  });
  seek.addEventListener("mouseleave", () => { preview.style.display = "none"; });
  }
})();
