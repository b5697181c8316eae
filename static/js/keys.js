// Keyboard shortcuts for reading a discussion: j / k next and previous comment, r reply,
// n show new comments, Escape close the reply form (or the list), ? the list of keys.
// Progressive enhancement only: without this file nothing is lost but the keys, and their
// list (templates/comments/shortcuts.html) stays hidden.
(function () {
  "use strict";
  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  var NOT_TYPED = ["button", "submit", "reset", "checkbox", "radio", "image", "file", "color", "range"];

  // A key pressed in a field is the reader's text, Escape included (it may be theirs to
  // cancel an autocomplete); a checkbox or a button takes no text.
  function typing(target) {
    if (!target || target.nodeType !== 1) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && NOT_TYPED.indexOf(target.type) === -1;
  }

  // A comment the reader can see: not inside a collapsed comment, not hidden.
  function shown(comment) {
    return !comment.parentElement.closest("details:not([open])") && comment.getClientRects().length > 0;
  }

  function comments() {
    return Array.prototype.filter.call(document.querySelectorAll(".comment[id^='comment-']"), shown);
  }

  function header(comment) {
    return comment.querySelector(":scope > details > summary") || comment;
  }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest(".comment[id^='comment-']") : null;
  }

  // The comment to go to from the one in focus; with none, the first whose line is in or
  // below the viewport (j) or the last in or above it (k).
  function neighbour(step) {
    var list = comments();
    if (!list.length) return null;
    var from = current();
    if (from) {
      var all = Array.prototype.slice.call(document.querySelectorAll(".comment[id^='comment-']"));
      for (var i = all.indexOf(from) + step; i >= 0 && i < all.length; i += step) {
        if (list.indexOf(all[i]) !== -1) return all[i];
      }
      return null;
    }
    if (step > 0) {
      for (var j = 0; j < list.length; j++) {
        if (header(list[j]).getBoundingClientRect().bottom > 0) return list[j];
      }
      return null;
    }
    for (var k = list.length - 1; k >= 0; k--) {
      if (header(list[k]).getBoundingClientRect().top < window.innerHeight) return list[k];
    }
    return null;
  }

  // Focus a comment (its ring is drawn by site.css) and bring its line and text into view
  // when they are not already.
  function goTo(comment) {
    comment.focus({ preventScroll: true });
    var top = header(comment).getBoundingClientRect().top;
    var body = comment.querySelector(":scope > details > .actions") || header(comment);
    var bottom = body.getBoundingClientRect().bottom;
    if (top < 0 || bottom > window.innerHeight) {
      comment.scrollIntoView({ block: "start", behavior: reducedMotion.matches ? "instant" : "smooth" });
    }
  }

  function replySlot(comment) {
    return comment.querySelector(":scope > details > .reply-slot");
  }

  function reply(comment) {
    var slot = replySlot(comment);
    var link = comment.querySelector(":scope > details > .actions .reply-link");
    if (!slot || !link) return;
    var open = slot.querySelector("textarea");
    if (open) {
      open.focus();  // already open: keep what was typed
      return;
    }
    comment.querySelector(":scope > details").open = true;
    link.click();  // as a click does: htmx fetches the form, thread.js focuses its textarea
  }

  // The reply form the reader means: the one holding the focus, else the focused comment's;
  // with the focus on no comment, the only one open (never one far from where they are).
  function openForm() {
    var active = document.activeElement;
    var slot = active && active.closest && active.closest(".reply-slot");
    var comment = current();
    if (!slot && comment) slot = replySlot(comment);
    if (comment) return slot && slot.querySelector("form") ? slot : null;
    var open = Array.prototype.filter.call(document.querySelectorAll(".reply-slot"), function (s) {
      return s.querySelector("form");
    });
    return open.length === 1 ? open[0] : null;
  }

  // Close through the form's own Cancel (thread.js asks before discarding typed text), then
  // hand the focus to the comment the form answered; a refusal leaves all as it was.
  function closeForm(slot) {
    var cancel = slot.querySelector(".cancel-reply");
    if (!cancel) return false;
    cancel.click();
    if (!slot.querySelector("form")) {
      var comment = slot.closest(".comment");
      if (comment) goTo(comment);
    }
    return true;
  }

  var help = null;
  var opener = null;

  function openHelp() {
    if (!help || help.open) return;
    opener = document.activeElement;
    help.showModal();
  }

  function newComments() {
    var button = document.getElementById("new-comments");
    if (button && !button.hidden && button.getClientRects().length) button.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || event.keyCode === 229) return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target)) return;
    if (help && help.open) return;  // the dialog's own Escape closes it
    var target;
    switch (event.key) {
      case "j":
      case "k":
        target = neighbour(event.key === "j" ? 1 : -1);
        if (target) goTo(target);
        break;
      case "r":
        target = current();
        if (target) reply(target);
        break;
      case "n":
        newComments();
        break;
      case "?":
        openHelp();
        break;
      case "Escape":
        target = openForm();
        if (!target || !closeForm(target)) return;
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    help = document.getElementById("keyboard-shortcuts");
    if (!help || typeof help.showModal !== "function") {
      help = null;
      return;
    }
    document.querySelectorAll(".shortcuts-open").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", openHelp);
    });
    // Focus goes back where it was when the list was asked for (the button, or a comment).
    help.addEventListener("close", function () {
      var back = opener && opener.isConnected && opener !== document.body
        ? opener
        : document.querySelector(".shortcuts-open");
      opener = null;
      if (back) back.focus();
    });
  });
})();
