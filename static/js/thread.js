// Progressive enhancement only: the thread works without this file.
(function () {
  "use strict";
  // Words come from the page, in its language (data- attributes of this script's element,
  // templates/base.html); numbers and relative times are formatted for the page's language.
  var words = document.currentScript ? document.currentScript.dataset : {};
  var lang = document.documentElement.lang || undefined;
  var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60]];
  var rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  // The message for ``count``: its "one" form or its "other" form, numbers put in.
  function counted(one, other, count, limit) {
    var form = (plurals ? plurals.select(count) === "one" : count === 1) ? one : other;
    return (form || "").replace("{n}", count.toLocaleString(lang))
      .replace("{limit}", limit === undefined ? "" : limit.toLocaleString(lang));
  }

  function relativeTimes(root) {
    if (!rtf) return;
    root.querySelectorAll(".comment .when time[datetime]").forEach(function (el) {
      var seconds = (new Date(el.getAttribute("datetime")) - Date.now()) / 1000;
      for (var i = 0; i < units.length; i++) {
        if (Math.abs(seconds) >= units[i][1]) {
          el.textContent = rtf.format(Math.round(seconds / units[i][1]), units[i][0]);
          return;
        }
      }
      el.textContent = words.justNow;
    });
  }

  function highlightTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    var pk = /^comment-(\d+)$/.exec(id);
    if (!el && pk && document.getElementById("thread")) {
      // A permalink to a comment on a later page of the discussion: open its context view.
      location.replace("/comments/" + pk[1] + "/thread/#" + id);
      return;
    }
    if (el && el.classList.contains("comment")) {
      el.scrollIntoView({ block: "center" });
      el.focus({ preventScroll: true });
    }
  }

  // Near the length limit, say how much room is left (or how far over), under the field
  // and to screen readers; nothing is cut: the server says the same if it is posted.
  function countCharacters(field) {
    var limit = parseInt(field.getAttribute("data-max-length"), 10);
    if (!limit) return;
    var note = field.parentNode.querySelector(".char-count");
    if (!note) {
      note = document.createElement("p");
      note.className = "char-count";
      note.setAttribute("aria-live", "polite");
      field.insertAdjacentElement("afterend", note);
    }
    var left = limit - field.value.length;
    note.hidden = left > limit / 10;
    note.classList.toggle("over", left < 0);
    note.textContent = left >= 0
      ? counted(words.leftOne, words.leftOther, left)
      : counted(words.overOne, words.overOther, -left, limit);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-max-length]")) {
      countCharacters(event.target);
    }
  });

  // "Cancel" on an open reply form closes it (asking first when text was typed) and puts
  // the focus back on the Reply control it came from. Without JavaScript the link leads to
  // the comment, on the page without the form.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest(".cancel-reply");
    var slot = cancel && cancel.closest(".reply-slot");
    if (!slot) return;
    event.preventDefault();
    var text = slot.querySelector("textarea");
    if (text && text.value.trim() && !window.confirm(words.discard)) return;
    slot.innerHTML = "";
    var comment = slot.closest(".comment");
    var reply = comment && comment.querySelector(":scope > details > .actions .reply-link");
    if (reply) reply.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    relativeTimes(document);
    highlightTarget();
  });
  window.addEventListener("hashchange", highlightTarget);

  // A refused post (400, 403, 429) comes back as the form with its message, retargeted to
  // where the form is: show it rather than dropping it as an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Anything else that fails (a 503 from a very busy thread, a dropped connection) is said
  // in words in a live region; the reader's text stays in the form.
  function sayProblem(text) {
    var status = document.getElementById("live-status");
    if (!status) return;
    status.textContent = text;
    status.hidden = false;
    window.setTimeout(function () { status.hidden = true; }, 8000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var plain = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
    sayProblem(plain && xhr.responseText ? xhr.responseText : words.failed);
  });
  document.addEventListener("htmx:sendError", function () {
    sayProblem(words.offline);
  });

  // Comments added by live.js (new comments shown in place).
  document.addEventListener("comments:added", function (event) { relativeTimes(event.target); });
  document.addEventListener("htmx:afterSwap", function (event) {
    relativeTimes(event.detail.target);
    var target = event.detail.target;
    // A new comment: focus it (first in the thread when the newest come first). A reply
    // form: focus its textarea.
    var config = event.detail.requestConfig;
    var first = config && config.elt && config.elt.getAttribute("hx-swap") === "afterbegin";
    var added = config && config.verb === "post"
      ? target.querySelector(first ? ":scope > .comment:first-child" : ":scope > .comment:last-child")
      : null;
    if (added) {
      added.focus();
      added.scrollIntoView({ block: "nearest" });
      return;
    }
    var textarea = target.querySelector("textarea");
    if (textarea) textarea.focus();
  });
})();
