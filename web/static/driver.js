/* Driver Assistant: offline trip queue (IndexedDB), service worker registration,
   location pings while location tracking is granted, consent switches. No inline script
   (CSP): everything hangs on data-* attributes the server renders. */
(function () {
  "use strict";
  var app = document.getElementById("driver-app");
  if (!app) { return; }
  var config = app.dataset;
  var csrfToken = function () { return config.csrf || ""; };
  var text = function (key) { return config["msg" + key] || key; };
  var banner = document.getElementById("offline-banner");
  function showOnline() { if (banner) { banner.hidden = navigator.onLine; } }
  window.addEventListener("offline", showOnline);
  window.addEventListener("online", showOnline);
  showOnline();

  if ("serviceWorker" in navigator && config.swUrl) {
    navigator.serviceWorker.register(config.swUrl, { scope: config.swScope }).catch(function () {});
  }
  /* Logging out removes the pages this phone kept (trips waiting to be sent stay, bound to their owner). */
  Array.prototype.forEach.call(document.querySelectorAll('form[action$="/logout"]'), function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.caches) { return; }
      event.preventDefault();
      caches.keys().then(function (keys) {
        return Promise.all(keys.filter(function (k) { return k.indexOf("driver-") === 0; })
          .map(function (k) { return caches.delete(k); }));
      }).finally(function () { form.submit(); });
    });
  });

  /* ---------- the outbox: trips waiting to be sent ---------- */
  var DB_NAME = "secto-driver", STORE = "outbox";
  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "client_id" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), result;
        result = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(result && result.result !== undefined ? result.result : result); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }
  var outbox = {
    all: function () {
      return tx("readonly", function (s) { return s.getAll(); }).then(function (entries) {
        return (entries || []).filter(function (e) { return e.owner === config.owner; });
      });
    },
    put: function (entry) { return tx("readwrite", function (s) { s.put(entry); }); },
    remove: function (id) { return tx("readwrite", function (s) { s.delete(id); }); }
  };

  function newClientId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ crypto.getRandomValues(new Uint8Array(1))[0] & 15 >> c / 4).toString(16);
    });
  }

  /* The UTC offset of the phone's clock on that date and time, e.g. "+02:00". */
  function offsetOf(date, time) {
    var local = new Date(date + "T" + (time || "12:00"));
    if (isNaN(local)) { return ""; }
    var minutes = -local.getTimezoneOffset(), sign = minutes < 0 ? "-" : "+";
    minutes = Math.abs(minutes);
    return sign + String(Math.floor(minutes / 60)).padStart(2, "0") + ":" + String(minutes % 60).padStart(2, "0");
  }

  function send(entry) {
    var data = new URLSearchParams(entry.fields);
    data.set("csrf_token", csrfToken());
    return fetch(entry.url, {
      method: "POST", body: data, credentials: "same-origin", redirect: "manual",
      headers: { "Accept": "application/json", "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, json: json };
      });
    });
  }

  var flushing = false;
  function flush() {
    if (flushing || !navigator.onLine) { return Promise.resolve(); }
    flushing = true;
    return outbox.all().then(function (entries) {
      var waiting = entries.filter(function (e) { return e.state === "waiting"; })
        .sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; });  /* in the order entered */
      return waiting.reduce(function (chain, entry) {
        return chain.then(function () {
          return send(entry).then(function (result) {
            if ((result.status === 200 || result.status === 201) && result.json.trip) {
              return outbox.remove(entry.client_id).then(function () { entry.sent = true; });
            }
            if ((result.status === 400 || result.status === 409) && result.json.message) {
              entry.state = "conflict";
              entry.message = (result.json && result.json.message) || text("Failed");
              return outbox.put(entry);
            }
          }, function (error) { console.info("trip kept for later:", error); });
        });
      }, Promise.resolve()).then(function () {
        if (waiting.some(function (e) { return e.sent; }) && document.getElementById("trip-form")) {
          window.location.reload();
        }
      });
    }).finally(function () { flushing = false; return render(); });
  }

  function render() {
    var box = document.getElementById("outbox");
    if (!box) { return Promise.resolve(); }
    return outbox.all().then(function (entries) {
      var waiting = entries.filter(function (e) { return e.state === "waiting"; });
      var conflicts = entries.filter(function (e) { return e.state === "conflict"; });
      box.hidden = !entries.length;
      var status = document.getElementById("outbox-status");
      status.textContent = waiting.length ? text("Waiting").replace("{n}", waiting.length) : "";
      var list = document.getElementById("outbox-list");
      list.textContent = "";
      entries.forEach(function (entry) {
        var item = document.createElement("li");
        var f = entry.fields;
        var line = document.createElement("span");
        line.textContent = f.date + " " + f.start_time + "–" + f.end_time + ", " + f.odometer_start + "–" +
          f.odometer_end + " km, " + f.start_point + " → " + f.end_point + ": " +
          (entry.state === "conflict" ? text("Conflict") + " " + entry.message : text("NotSent"));
        item.appendChild(line);
        if (entry.state === "conflict") {
          item.className = "conflict";
          var discard = document.createElement("button");
          discard.type = "button";
          discard.textContent = text("Discard");
          discard.addEventListener("click", function () { outbox.remove(entry.client_id).then(render); });
          item.appendChild(discard);
        }
        list.appendChild(item);
      });
    });
  }

  var form = document.getElementById("trip-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var fields = {};
      new FormData(form).forEach(function (value, key) { if (key !== "csrf_token") { fields[key] = value; } });
      fields.client_id = newClientId();
      fields.utc_offset = offsetOf(fields.date, fields.start_time);
      var entry = { client_id: fields.client_id, url: form.action, fields: fields, state: "waiting",
                    owner: config.owner, queued_at: new Date().toISOString() };
      var notice = document.getElementById("trip-form-message");
      var queue = function () {
        return outbox.put(entry).then(function () {
          notice.hidden = false;
          notice.textContent = text("Queued");
          form.reset();
          return render();
        });
      };
      if (!navigator.onLine) { queue(); return; }
      send(entry).then(function (result) {
        if ((result.status === 200 || result.status === 201) && result.json.trip) {
          window.location.assign(result.json.next || window.location.href);
        } else if (result.status >= 500 || result.status === 0) {
          queue();
        } else {
          notice.hidden = false;
          notice.textContent = (result.json && result.json.message) || text("Failed");
        }
      }, queue);
    });
  }
  window.addEventListener("online", flush);
  render().then(flush);
  setInterval(flush, 15000);  /* the online event is not reliable on every phone */

  /* ---------- location pings, only while location tracking is granted ---------- */
  var tracking = Boolean(config.locationUrl) && config.locationTracking === "granted";
  var timer = null;
  function stopTracking() { tracking = false; if (timer) { clearInterval(timer); timer = null; } }
  function ping() {
    if (!tracking) { return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      if (!tracking) { return; }
      var data = new URLSearchParams({ lat: position.coords.latitude, lon: position.coords.longitude,
                                       at: new Date(position.timestamp || Date.now()).toISOString(),
                                       csrf_token: csrfToken() });
      fetch(config.locationUrl, { method: "POST", body: data, credentials: "same-origin",
                                        headers: { "Accept": "application/json" } })
        .then(function (response) { if (response.status === 409 || response.status === 403) { stopTracking(); } })
        .catch(function () {});
    }, function () {}, { maximumAge: 60000, timeout: 20000 });
  }
  if (tracking && "geolocation" in navigator) {
    ping();
    timer = setInterval(ping, (parseInt(config.locationInterval, 10) || 60) * 1000);
  }

  /* ---------- consent switches: a change submits its form; withdrawing stops tracking first ---------- */
  Array.prototype.forEach.call(document.querySelectorAll("form.consent input[role=switch]"), function (input) {
    input.addEventListener("change", function () {
      if (input.form.elements.purpose.value === "location_tracking" && !input.checked) { stopTracking(); }
      input.form.requestSubmit();
    });
  });
})();
