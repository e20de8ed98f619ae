// actiond status page: cards drawn from /api/history and /api/streams, kept live
// by /api/events (Server-Sent Events; the browser reconnects by itself and the
// page reloads its state when it does). Snapshots are fetched only while the
// page is visible. No library, nothing fetched from elsewhere.
"use strict";
(function () {
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var app = { labels: [], streams: new Map(), windowMs: 600000, offsetMs: 0, uptimeAt: null };
  var EVENTS_SHOWN = 5;

  // A stream's name in a URL path: a region's `<stream>/<region>` keeps its slash.
  function streamPath(name) { return name.split("/").map(encodeURIComponent).join("/"); }
  function serverNow() { return Date.now() + app.offsetMs; }
  function colour(i) { return i < 0 ? "#888" : "hsl(" + Math.round((i * 137.508) % 360) + " 62% 46%)"; }
  function labelColour(label) { return colour(app.labels.indexOf(label)); }
  function clock(ms) { return new Date(ms - app.offsetMs).toLocaleTimeString(); }
  function node(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function getJSON(path) {
    return fetch(path, { cache: "no-store" }).then(function (r) { return r.json(); });
  }

  var CARD = '<h2></h2><div class="row"><div class="snap"><img alt="latest frame the model saw"></div>' +
    '<div class="now"><div class="label">—</div><div class="score"></div><div class="state">starting</div>' +
    '<div class="reason"></div><dl class="nums"><dt>analyzed</dt><dd class="fps">—</dd>' +
    '<dt title="capture of the clip\'s last frame → publish">latency</dt><dd class="latency">—</dd><dt>clip</dt><dd class="seq">—</dd></dl></div></div>' +
    '<div class="top"></div><canvas class="timeline" height="28"></canvas>' +
    '<div class="axis"><span>−10 min</span><span>now</span></div><ul class="events"></ul>';

  function card(name) {
    var s = app.streams.get(name);
    if (s) return s;
    var root = node("section", "card nosnap");
    root.innerHTML = CARD;
    root.dataset.stream = name;
    root.dataset.points = "0";
    $("h2", root).textContent = name;
    s = { name: name, root: root, points: [], events: [], alive: true, classified: null, polled: 0 };
    app.streams.set(name, s);
    $("#cards").appendChild(root);
    hover(s);
    snapshots(s);
    return s;
  }

  function drop(name) {
    var s = app.streams.get(name);
    if (!s) return;
    s.alive = false;
    s.root.remove();
    app.streams.delete(name);
  }

  // The snapshot: the next one is asked for only once the last one arrived.
  function snapshots(s) {
    var img = $(".snap img", s.root);
    var next = function () {
      if (!s.alive) return;
      if (document.hidden) { setTimeout(next, 1000); return; }
      img.src = "/api/streams/" + streamPath(s.name) + "/snapshot.jpg?t=" + Date.now();
    };
    img.onload = function () { s.root.classList.remove("nosnap"); setTimeout(next, 400); };
    img.onerror = function () { s.root.classList.add("nosnap"); setTimeout(next, 2000); };
    next();
  }

  function showPrediction(s, m) {
    var label = $(".label", s.root);
    label.textContent = m.label;
    label.style.color = labelColour(m.label);
    $(".score", s.root).textContent = "score " + m.score.toFixed(2);
    $(".latency", s.root).textContent = Math.round(m.latency_ms) + " ms";
    $(".seq", s.root).textContent = "#" + m.seq;
    $(".seq", s.root).title = m.frames + " frames";
    s.root.dataset.label = m.label;
    s.root.dataset.seq = m.seq;
    var top = $(".top", s.root);
    top.textContent = "";
    (m.top || []).forEach(function (t) {
      var row = node("div", "bar");
      row.appendChild(node("span", "", t.label));
      var bar = node("i");
      bar.style.width = (t.score * 100).toFixed(1) + "%";
      bar.style.background = labelColour(t.label);
      var track = node("span");
      track.appendChild(bar);
      row.appendChild(track);
      row.appendChild(node("span", "", t.score.toFixed(2)));
      top.appendChild(row);
    });
  }

  function showState(s, state, reason) {
    var e = $(".state", s.root);
    e.textContent = state;
    e.className = "state " + state;
    $(".reason", s.root).textContent = reason;
    s.root.dataset.state = state;
  }

  // A label change's snapshot (kept only when someone watched at that moment).
  function eventImage(s, e) {
    return "/api/streams/" + streamPath(s.name) + "/events/" + e.t_ms + ".jpg";
  }

  // A recorded clip or snapshot ([record] with [http]), linked on this page's own origin.
  function evidence(li, url, text) {
    if (!url) return;
    var a = node("a", "evidence", text);
    a.href = new URL(url).pathname;
    a.target = "_blank";
    li.appendChild(document.createTextNode(" · "));
    li.appendChild(a);
  }

  function showEvents(s) {
    var list = $(".events", s.root);
    list.textContent = "";
    s.events.slice(-EVENTS_SHOWN).reverse().forEach(function (e) {
      var li = node("li", "", clock(e.t_ms) + "  " + (e.from || "—") + " → ");
      li.appendChild(node("b", "", e.to));
      li.appendChild(document.createTextNode(" (" + e.score.toFixed(2) + ")"));
      if (e.snapshot) {
        var a = node("a", "", "frame");
        a.href = eventImage(s, e);
        a.target = "_blank";
        li.appendChild(document.createTextNode(" · "));
        li.appendChild(a);
      }
      evidence(li, e.clip_url, "clip");
      evidence(li, e.snapshot_url, "snapshot");
      list.appendChild(li);
    });
  }

  function nearEvent(s, t, width) {
    return s.events.filter(function (e) { return Math.abs(e.t_ms - t) / app.windowMs * width < 4; })[0];
  }

  function trim(s) {
    var from = serverNow() - app.windowMs;
    while (s.points.length && s.points[0][0] < from) s.points.shift();
    s.root.dataset.points = String(s.points.length);
  }

  // The timeline: each clip fills until the next one (at most 5 s), coloured by
  // label, fainter when unsure; label changes are black ticks.
  function draw(s) {
    var c = $("canvas", s.root);
    var w = c.clientWidth, h = 28, dpr = window.devicePixelRatio || 1;
    if (!w) return;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    var g = c.getContext("2d");
    g.scale(dpr, dpr);
    var now = serverNow(), from = now - app.windowMs;
    var x = function (t) { return (t - from) / app.windowMs * w; };
    s.points.forEach(function (p, i) {
      var end = i + 1 < s.points.length ? s.points[i + 1][0] : now;
      end = Math.min(end, p[0] + 5000);
      g.globalAlpha = 0.35 + 0.65 * p[2];
      g.fillStyle = colour(p[1]);
      var x0 = x(p[0]);
      g.fillRect(x0, 4, Math.max(1, x(end) - x0), h - 4);
    });
    g.globalAlpha = 1;
    g.fillStyle = "#111";
    s.events.forEach(function (e) {
      if (e.t_ms < from) return;
      var xe = x(e.t_ms);
      g.fillRect(xe - 1, 0, 2, h);
      g.beginPath(); g.moveTo(xe - 4, 0); g.lineTo(xe + 4, 0); g.lineTo(xe, 5); g.fill();
    });
  }

  function hover(s) {
    var c = $("canvas", s.root), tip = $("#tip");
    c.addEventListener("mousemove", function (ev) {
      var r = c.getBoundingClientRect();
      var t = serverNow() - app.windowMs + (ev.clientX - r.left) / r.width * app.windowMs;
      var near = nearEvent(s, t, r.width);
      var text;
      if (near) {
        text = clock(near.t_ms) + "  label changed " + (near.from || "—") + " → " + near.to + " (" + near.score.toFixed(2) + ")" +
          (near.snapshot ? " · click for its frame" : "");
      } else {
        var p = null;
        for (var i = s.points.length - 1; i >= 0; i--) if (s.points[i][0] <= t) { p = s.points[i]; break; }
        if (!p || t - p[0] > 5000) { tip.hidden = true; return; }
        text = clock(p[0]) + "  " + (app.labels[p[1]] || "?") + "  " + p[2].toFixed(2);
      }
      tip.textContent = text;
      tip.hidden = false;
      tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - tip.offsetWidth - 4) + "px";
      tip.style.top = (ev.clientY + 14) + "px";
    });
    c.addEventListener("mouseleave", function () { tip.hidden = true; });
    c.addEventListener("click", function (ev) {
      var r = c.getBoundingClientRect();
      var t = serverNow() - app.windowMs + (ev.clientX - r.left) / r.width * app.windowMs;
      var near = nearEvent(s, t, r.width);
      if (near && near.snapshot) window.open(eventImage(s, near), "_blank");
    });
  }

  function showLabels() {
    var e = $("#labels");
    e.textContent = "labels ";
    app.labels.forEach(function (l, i) {
      var chip = node("span", "chip", l);
      chip.style.background = colour(i);
      e.appendChild(chip);
    });
  }

  function uptime() {
    if (app.uptimeAt === null) return;
    var s = Math.floor((Date.now() - app.uptimeAt) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    $("#uptime").textContent = (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
  }

  // Whole state from the daemon: on load and whenever the event stream (re)opens.
  function reload() {
    return getJSON("/api/history").then(function (hist) {
      app.offsetMs = hist.now_ms - Date.now();
      app.windowMs = hist.window_s * 1000;
      app.labels = hist.labels;
      app.uptimeAt = Date.now() - hist.uptime_s * 1000;
      $("#version").textContent = hist.version;
      $("#model").textContent = hist.model;
      showLabels();
      var names = hist.streams.map(function (t) { return t.name; });
      Array.from(app.streams.keys()).forEach(function (n) { if (names.indexOf(n) < 0) drop(n); });
      hist.streams.forEach(function (t) {
        var s = card(t.name);
        $("#cards").appendChild(s.root);
        s.points = t.points;
        s.events = t.events;
        trim(s);
        showEvents(s);
        draw(s);
      });
      return poll();
    });
  }

  // Counters, states and health every 2 s (analyzed fps = classified frames / s).
  function poll() {
    return Promise.all([getJSON("/api/streams"), getJSON("/healthz")]).then(function (r) {
      var now = Date.now();
      r[0].streams.forEach(function (v) {
        var s = card(v.name);
        showState(s, v.state, v.reason);
        if (v.last_prediction && !s.root.dataset.seq) showPrediction(s, v.last_prediction);
        var n = v.frames.classified;
        if (s.classified !== null && now > s.polled) {
          var fps = Math.max(0, n - s.classified) / ((now - s.polled) / 1000);
          $(".fps", s.root).textContent = fps.toFixed(1) + " fps";
        }
        s.classified = n;
        s.polled = now;
      });
      var health = $("#health");
      health.textContent = r[1].status;
      health.className = r[1].status;
      var problems = $("#problems");
      problems.textContent = "";
      r[1].reasons.forEach(function (p) { problems.appendChild(node("li", "", p)); });
    }).catch(function () {});
  }

  var handlers = {
    hello: function (m) {
      var same = m.streams.length === app.streams.size && m.streams.every(function (n) { return app.streams.has(n); });
      if (!same || m.labels.join("\n") !== app.labels.join("\n")) reload();
    },
    prediction: function (m) {
      var s = app.streams.get(m.stream);
      if (!s) return;
      showPrediction(s, m);
      s.points.push([serverNow(), app.labels.indexOf(m.label), m.score]);
      trim(s);
      draw(s);
    },
    event: function (m) {
      var s = app.streams.get(m.stream);
      if (!s) return;
      s.events.push({ t_ms: serverNow(), from: m.from, to: m.to, score: m.score });
      if (s.events.length > 8) s.events.shift();
      showEvents(s);
      draw(s);
      // The daemon may have kept the frame of this change: its time and link come from the history.
      setTimeout(function () { reload().catch(function () {}); }, 500);
    },
    status: function (m) {
      var s = app.streams.get(m.stream);
      if (s) showState(s, m.state, m.reason);
    },
    goodbye: function () { live(false, "daemon stopping…"); }
  };

  function live(on, text) {
    var e = $("#live");
    e.className = on ? "on" : "off";
    e.textContent = text;
  }

  function connect() {
    var es = new EventSource("/api/events");
    Object.keys(handlers).forEach(function (type) {
      es.addEventListener(type, function (ev) {
        try { handlers[type](JSON.parse(ev.data)); } catch (err) { console.error(err); }
      });
    });
    es.onopen = function () { live(true, "live"); reload(); };
    es.onerror = function () {
      live(false, "reconnecting…");
      // The browser retries by itself unless the stream was refused outright.
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    };
  }

  reload().catch(function () {});
  connect();
  setInterval(poll, 2000);
  setInterval(uptime, 1000);
  setInterval(function () { app.streams.forEach(function (s) { trim(s); draw(s); }); }, 2000);
  window.addEventListener("resize", function () { app.streams.forEach(draw); });
})();
