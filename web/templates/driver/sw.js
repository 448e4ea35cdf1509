/* Driver Assistant service worker (scope /driver/): the app shell is cached on install;
   pages are fetched from the network and kept as the last-seen copy, which is served when
   the network is down. Only GET requests of this origin are touched; a POST (a trip, a
   consent) always goes to the network, and the page queues trips itself when offline. */
"use strict";
var VERSION = "{{ version }}";
var CACHE = "driver-" + VERSION;
var SHELL = {{ shell | tojson }};
var OFFLINE = {{ offline_url | tojson }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return key.indexOf("driver-") === 0 && key !== CACHE; })
      .map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        var copy = response.clone();
        if (response.ok) { caches.open(CACHE).then(function (cache) { cache.put(request, copy); }); }
        return response;
      });
    }));
    return;
  }
  if (url.pathname.indexOf("/driver/") !== 0 || /\/export|\/sw\.js$/.test(url.pathname)) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { ignoreVary: true }).then(function (hit) {
      return hit || caches.match(OFFLINE);
    });
  }));
});
