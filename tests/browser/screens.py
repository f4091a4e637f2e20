"""What the browser tests share beside their fixtures (``conftest.py``, which also
skips them, saying why, without Debian's chromium or the playwright package): the two
screen sizes we look at, the script that records policy violations, and the measure of
a page wider than its screen."""

DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
#: run before any page script: every Content-Security-Policy violation is kept
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""
#: how far the page itself is wider than the screen (a list's own scrolling box aside)
BODY_OVERFLOW = "document.body.scrollWidth - document.documentElement.clientWidth"
