// Live new comments on an article page (comments/live.py): progressive enhancement only.
// While the tab is visible, ask every few seconds whether the discussion changed (a 304
// when it did not); when comments appeared that this page can show, fetch them and say so
// on the #new-comments button; a click (or a key bound to it) puts each under its parent,
// or as a new thread, without moving what the reader is reading. Words come from the server.
(function () {
  "use strict";
  var script = document.currentScript;
  var button = document.getElementById("new-comments");
  var thread = document.getElementById("thread");
  if (!script || !button || !thread || !window.fetch || !window.JSON) return;
  var url = script.dataset.url;
  var version = script.dataset.version;
  var interval = Math.max(1, parseInt(script.dataset.seconds, 10) || 15) * 1000;
  var order = script.dataset.order;
  var maxDepth = parseInt(script.dataset.maxDepth, 10) || 10;
  var LONGEST = 5 * 60 * 1000; // the longest wait after failures

  var after = null; // every visible comment up to this id is on the page or cannot go there
  var passed = {}; // ids above ``after`` seen and not to be shown here (or shown already)
  var waiting = []; // ids to show, in the order the server listed them (parents first)
  var ready = null; // the fetched answer for ``waiting``: {templates by id, words, ids asked}
  var asking = 0; // counts the fetches of ``waiting``: only the latest answer is used
  var timer = null;
  var delay = interval;
  var stopped = false;

  function has(pk) {
    return document.getElementById("comment-" + pk) !== null;
  }

  // A comment whose replies all show here: not at the depth limit, and not in a part of
  // the thread that continues on another page ("Continue this thread").
  function takesReplies(parent) {
    if (parseInt(parent.getAttribute("data-depth"), 10) >= maxDepth) return false;
    for (var el = parent; el; el = el.parentElement && el.parentElement.closest(".comment")) {
      if (el.querySelector(":scope > details > .continue")) return false;
    }
    return true;
  }

  function placeable(pk, parent) {
    if (parent === null) {
      // A new thread goes first when the newest come first (on the first page only),
      // else last (on the last page only).
      return order === "newest" ? !document.querySelector(".earlier") : !document.getElementById("load-more");
    }
    if (waiting.indexOf(parent) !== -1) return true;
    var el = document.getElementById("comment-" + parent);
    return el !== null && takesReplies(el);
  }

  function highestId() {
    var top = 0;
    thread.querySelectorAll(".comment[id^='comment-']").forEach(function (el) {
      top = Math.max(top, parseInt(el.id.slice(8), 10) || 0);
    });
    return top;
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    if (stopped) return;
    // A tenth either way, so that pages opened together do not poll together.
    timer = window.setTimeout(poll, ms * (0.9 + Math.random() * 0.2));
  }

  function failed(problem) {
    var response = problem instanceof Response ? problem : null;
    if (response && (response.status === 400 || response.status === 404)) {
      stopped = true; // the page is gone or the request is wrong: asking again will not help
      return;
    }
    var wait = response && parseInt(response.headers.get("Retry-After"), 10);
    delay = Math.min(LONGEST, Math.max(delay * 2, (wait || 0) * 1000));
    schedule(delay);
  }

  function poll() {
    timer = null;
    if (document.visibilityState === "hidden") return; // resumed by visibilitychange
    var query = "?since=" + encodeURIComponent(version) +
      (after === null ? "&top=" + highestId() : "&after=" + after);
    fetch(url + query, {
      headers: { "If-None-Match": '"' + version + '"', "Accept": "application/json" },
      cache: "no-store",
      credentials: "same-origin"
    }).then(function (response) {
      if (response.status === 304) return null;
      if (!response.ok) throw response;
      return response.json();
    }).then(function (answer) {
      if (answer) learn(answer);
      delay = interval;
      schedule(delay);
    }).catch(failed);
  }

  function learn(answer) {
    version = String(answer.version);
    after = answer.after;
    var added = false;
    answer.comments.forEach(function (pair) {
      var pk = pair[0], parent = pair[1];
      if (passed[pk] || waiting.indexOf(pk) !== -1) return;
      if (!has(pk) && placeable(pk, parent)) {
        waiting.push(pk);
        added = true;
      } else {
        passed[pk] = true;
      }
    });
    Object.keys(passed).forEach(function (pk) {
      if (+pk <= after) delete passed[pk]; // never listed again
    });
    if (added) fetchWaiting();
  }

  function fetchWaiting() {
    var ids = waiting.slice(0, 100);
    var mine = ++asking;
    fetch(url + "?show=" + ids.join(","), { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw response;
        return response.text();
      }).then(function (html) {
        if (mine !== asking) return; // shown meanwhile, or asked again since
        var holder = document.createElement("template");
        holder.innerHTML = html;
        var batch = holder.content.querySelector(".live-batch");
        if (!batch) return;
        var templates = {};
        batch.querySelectorAll("template[data-pk]").forEach(function (t) {
          templates[t.getAttribute("data-pk")] = t;
        });
        // A comment hidden or deleted meanwhile is not drawn: show only what came.
        waiting = waiting.filter(function (pk) { return templates[pk] || ids.indexOf(pk) === -1; });
        if (!Object.keys(templates).length) return;
        ready = { templates: templates, words: batch.dataset, asked: ids };
        offer();
      }).catch(function () { /* the next poll's change will ask again */ });
  }

  function offer() {
    var words = ready.words;
    button.hidden = false;
    button.textContent = "";
    var label = document.createElement("span");
    label.className = "label";
    label.textContent = words.label;
    button.appendChild(label);
    if (words.replies) {
      var replies = document.createElement("span");
      replies.className = "replies";
      replies.textContent = words.replies;
      button.appendChild(replies);
    }
  }

  // What the reader is reading: the first comment heading or text whose bottom is below the
  // top of the window (not a whole comment, which holds its replies and so can grow above).
  function readingPoint() {
    var parts = thread.querySelectorAll(".comment > details > summary, .comment > details > .body");
    for (var i = 0; i < parts.length; i++) {
      var box = parts[i].getBoundingClientRect();
      if (box.bottom > 0) return { el: parts[i], top: box.top };
    }
    return null;
  }

  function firstUnpinnedThread() {
    var threads = thread.querySelectorAll(":scope > .comment");
    for (var i = 0; i < threads.length; i++) {
      if (!threads[i].querySelector(":scope > details > summary .pinned")) return threads[i];
    }
    return null;
  }

  function insert(element, parent) {
    if (parent) {
      var replies = document.getElementById("replies-" + parent);
      if (!replies) return false;
      replies.insertBefore(element, order === "newest" ? replies.firstChild : null);
    } else if (order === "newest") {
      thread.insertBefore(element, firstUnpinnedThread());
    } else {
      thread.insertBefore(element, document.getElementById("load-more"));
    }
    return true;
  }

  function show() {
    if (!ready) return;
    asking++; // an answer still on its way is for what is shown now
    var hadFocus = document.activeElement === button;
    var point = readingPoint();
    var shown = [];
    waiting.forEach(function (pk) {
      var template = ready.templates[pk];
      var element = template && template.content.querySelector(".comment");
      if (!element || has(pk)) return;
      element = document.importNode(element, true);
      element.classList.add("is-new");
      if (template.hasAttribute("data-reply-to-you")) {
        element.classList.add("reply-to-you");
        var badge = document.createElement("span");
        badge.className = "badge reply-to-you";
        badge.textContent = ready.words.badge;
        element.querySelector(":scope > details > summary").appendChild(badge);
      }
      var parent = template.getAttribute("data-parent");
      if (insert(element, parent || null)) shown.push(element);
    });
    var asked = ready.asked;
    waiting = waiting.filter(function (pk) { return asked.indexOf(pk) === -1; }); // past 100
    asked.forEach(function (pk) { passed[pk] = true; });
    var count = document.getElementById("response-count");
    if (count && ready.words.responses) count.textContent = ready.words.responses;
    ready = null;
    button.hidden = true;
    button.textContent = "";
    if (waiting.length) fetchWaiting();
    if (point) {
      var moved = point.el.getBoundingClientRect().top - point.top;
      if (moved) window.scrollBy({ top: moved, behavior: "instant" }); // never smooth: no motion
    }
    shown.forEach(function (element) {
      if (window.htmx) window.htmx.process(element);
      element.dispatchEvent(new CustomEvent("comments:added", { bubbles: true }));
    });
    if (hadFocus && shown.length) shown[0].focus({ preventScroll: true });
  }

  button.addEventListener("click", show);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && timer === null) schedule(Math.min(delay, 1000));
  });
  schedule(500); // learn the floor soon after the page is read
})();
