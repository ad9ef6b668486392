/*
 * The survey's service worker (served at /survey-sw.js; pupil/offline_routes.py).
 * After sign-in the survey page asks it to keep that survey's page (one copy serves every
 * screen) and the files it uses, in one cache named after the response. Pupil pages always come from the network
 * when it answers; only when it does not is the kept copy shown, so a pupil whose
 * network drops can go on to the end (the answers wait in the page, see survey.js). A
 * form sent while offline gets a plain page saying nothing was sent. Everything else on
 * the site (staff pages, the answer API) passes straight through.
 * The caches are deleted when the pupil signs out or finishes (survey-cleanup.js) and
 * when the next pupil's survey is kept.
 */
"use strict";

var PREFIX = "survey-pages-";
// When the kept pages were last used, and for how long they may be (the pupil idle limit):
// a pupil who walked away offline leaves nothing that opens for the next person later.
var META = "/__survey-kept";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function forget(except) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf(PREFIX) === 0 && n !== except; })
      .map(function (n) { return caches["delete"](n); }));
  });
}

function stamp(cache, idleMs) {
  return cache.match(META).then(function (old) { return old ? old.json() : {}; }).then(function (meta) {
    var idle = idleMs || meta.idle || 20 * 60 * 1000;
    return cache.put(META, new Response(JSON.stringify({ at: Date.now(), idle: idle })));
  });
}

function fresh(cache) {
  return cache.match(META).then(function (meta) { return meta ? meta.json() : null; }).then(function (meta) {
    return !!meta && Date.now() - meta.at <= meta.idle;
  });
}

function keep(responseId, urls, idleMs) {
  var name = PREFIX + responseId;
  return forget(name).then(function () { return caches.open(name); }).then(function (cache) {
    return stamp(cache, idleMs).then(function () { return cache; });
  }).then(function (cache) {
    return Promise.all(urls.map(function (url) {
      return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
        if (resp.ok && !resp.redirected) { return cache.put(url, resp); }
        return undefined;
      })["catch"](function () { return undefined; });
    }));
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "keep" && /^\d+$/.test(String(data.response)) && Array.isArray(data.urls)) {
    event.waitUntil(keep(data.response, data.urls.filter(function (u) { return typeof u === "string" && u.charAt(0) === "/"; }),
      typeof data.idle === "number" ? data.idle : 0));
  } else if (data.type === "alive") {
    event.waitUntil(currentCache().then(function (kept) { return kept ? stamp(kept.cache, 0) : undefined; }));
  } else if (data.type === "forget") {
    event.waitUntil(forget(null));
  }
});

function currentCache() {
  return caches.keys().then(function (names) {
    var mine = names.filter(function (n) { return n.indexOf(PREFIX) === 0; });
    return mine.length ? caches.open(mine[0]).then(function (c) { return { name: mine[0], cache: c }; }) : null;
  });
}

// Every screen of a survey is the same page (the script shows one screen or another), so
// one copy per way of showing it is kept: "/survey/p/3" is answered by the kept
// "/survey/p/1", and survey-offline.js shows screen 3.
var SCREEN = /^\/survey\/([ps])\/\d+$/;

function keptScreen(cache, path) {
  return cache.match(path).then(function (hit) {
    var kind = SCREEN.exec(path);
    if (hit || !kind) { return hit; }
    return cache.keys().then(function (requests) {
      for (var i = 0; i < requests.length; i++) {
        var other = SCREEN.exec(new URL(requests[i].url).pathname);
        if (other && other[1] === kind[1]) { return cache.match(requests[i]); }
      }
      return undefined;
    });
  });
}

// A fresh copy of a screen replaces the kept one, but only a screen of the kept response.
function refresh(path, resp) {
  if (!SCREEN.test(path)) { return Promise.resolve(); }
  return currentCache().then(function (kept) {
    if (!kept) { return; }
    return resp.text().then(function (html) {
      var id = /data-response="(\d+)"/.exec(html);
      if (!id || PREFIX + id[1] !== kept.name) { return undefined; }
      var kind = SCREEN.exec(path)[1];
      return kept.cache.keys().then(function (requests) {
        return Promise.all(requests.filter(function (r) {
          var other = SCREEN.exec(new URL(r.url).pathname);
          return other && other[1] === kind;
        }).map(function (r) { return kept.cache["delete"](r); }));
      }).then(function () {
        return kept.cache.put(path, new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } }));
      }).then(function () { return stamp(kept.cache, 0); });
    });
  });
}

// The page for a form sent offline, in the pupil's language: the kept survey page holds
// its words (the "survey-strings" that survey.js reads, from pupil/script_strings.py,
// looked up by the English text) and its lang and dir. Without a kept page: English.
function wordsOf(html) {
  var words = { lang: "en-GB", dir: "ltr", strings: {} };
  var tag = /<html lang="([^"]+)" dir="(ltr|rtl)"/.exec(html);
  if (tag) { words.lang = tag[1]; words.dir = tag[2]; }
  var json = /<script type="application\/json" id="survey-strings">([\s\S]*?)<\/script>/.exec(html);
  try { words.strings = json ? JSON.parse(json[1]) || {} : {}; } catch (e) { words.strings = {}; }
  return words;
}

function keptWords() {
  return currentCache().then(function (kept) {
    if (!kept) { return null; }
    return keptScreen(kept.cache, "/survey/p/1").then(function (hit) {
      return hit || keptScreen(kept.cache, "/survey/s/1");
    });
  }).then(function (hit) { return hit ? hit.text().then(wordsOf) : null; })["catch"](function () { return null; });
}

function escaped(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function offlinePage(words) {
  words = words || wordsOf("");
  function t(english) {
    var found = Object.prototype.hasOwnProperty.call(words.strings, english) ? words.strings[english] : null;
    return escaped(typeof found === "string" ? found : english);
  }
  var page = '<!doctype html><html lang="' + escaped(words.lang) + '" dir="' + words.dir + '"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>' + t("No connection") + '</title>' +
    '<link rel="stylesheet" href="/static/css/app.css">' +
    (words.lang === "en-GB" ? "" : '<link rel="stylesheet" href="/static/css/languages.css">') +
    '</head><body><main class="wrap" id="main">' +
    '<section class="panel narrow"><h1>' + t("No connection just now") + '</h1>' +
    '<p class="lead">' + t("This computer cannot reach the survey at the moment, so that was not sent.") + '</p>' +
    '<p>' + t("Your answers are kept on this computer. When the connection is back, go back and press the button again.") +
    '</p><p><a class="button" href="/survey">' + t("Back to the survey") + '</a></p></section></main></body></html>';
  return new Response(page, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store" } });
}

function offlinePageInKeptWords() {
  return keptWords().then(offlinePage);
}

function isSurveyPage(url) {
  return url.pathname === "/survey" || url.pathname.indexOf("/survey/") === 0;
}

// Signing out (the button, or the idle timer) with no network: the server still thinks
// the pupil is in, but nothing of theirs stays here for the next person.
function signOut(request) {
  return fetch(request)["catch"](function () {
    return keptWords().then(function (words) { return forget(null).then(function () { return offlinePage(words); }); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && request.method === "POST" && url.pathname === "/signout") {
    event.respondWith(signOut(request));
    return;
  }
  if (request.mode === "navigate" && isSurveyPage(url)) {
    if (request.method !== "GET") {
      event.respondWith(fetch(request)["catch"](offlinePageInKeptWords));
      return;
    }
    event.respondWith(fetch(request).then(function (resp) {
      if (resp.ok && !resp.redirected) { event.waitUntil(refresh(url.pathname, resp.clone())); }
      return resp;
    })["catch"](function () {
      return currentCache().then(function (kept) {
        if (!kept) { return undefined; }
        return fresh(kept.cache).then(function (ok) {
          if (!ok) { return forget(null).then(function () { return undefined; }); }
          return stamp(kept.cache, 0).then(function () { return keptScreen(kept.cache, url.pathname); });
        });
      }).then(function (hit) { return hit || offlinePageInKeptWords(); });
    }));
  } else if (request.method === "GET" && url.pathname.indexOf("/static/") === 0) {
    event.respondWith(fetch(request)["catch"](function () {
      return currentCache().then(function (kept) {
        return kept ? kept.cache.match(url.pathname) : undefined;
      }).then(function (hit) { return hit || Response.error(); });
    }));
  }
});
