/* Yijia's page behaviour, as a file: the Content-Security-Policy runs no inline script
 * and no inline event handler (onclick="..."), so what those did is done here.
 *
 * 1. <select data-autosubmit> submits its form when changed (street switcher).
 * 2. <form data-confirm="question"> asks before it is submitted.
 * 3. Flask-Admin 2.2.1's templates carry a few inline handlers (delete buttons, list
 *    actions, filter links, inline-form "add" buttons). Each known one is replaced by
 *    the same behaviour bound here, and its attribute removed before it could run, also
 *    in parts of the page added later. Links to "javascript:void(0)" do nothing.
 * 4. The account form offers only the areas whose level fits the chosen role.
 */
(function () {
  "use strict";

  function jsUnescape(text) {
    return text.replace(/\\(.)/g, "$1");
  }

  // ------------------------------------------------------------- 1 and 2
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var question = form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // --------------------------------------------------------------- 3
  var HANDLERS = [
    {
      pattern: /^return\s+faHelpers\.safeConfirm\('((?:[^'\\]|\\.)*)'\);?$/,
      run: function (el, match, event) {
        if (!window.faHelpers.safeConfirm(jsUnescape(match[1]))) {
          event.preventDefault();
        }
      }
    },
    {
      pattern: /^return\s+confirm\('((?:[^'\\]|\\.)*)'\);?$/,
      run: function (el, match, event) {
        if (!window.confirm(jsUnescape(match[1]))) {
          event.preventDefault();
        }
      }
    },
    {
      pattern: /^return\s+modelActions\.execute\('([\w-]+)'\);?$/,
      run: function (el, match, event) {
        event.preventDefault();
        window.modelActions.execute(match[1]);
      }
    },
    {
      pattern: /^faForm\.addInlineField\(this,\s*'([\w-]+)'\);?$/,
      run: function (el, match, event) {
        event.preventDefault();
        window.faForm.addInlineField(el, match[1]);
      }
    },
    {
      pattern: /^return\s+false;?$/,
      run: function (el, match, event) {
        event.preventDefault();
      }
    }
  ];

  function takeOver(el) {
    var code = (el.getAttribute("onclick") || "").trim();
    for (var i = 0; i < HANDLERS.length; i++) {
      var match = HANDLERS[i].pattern.exec(code);
      if (match) {
        el.removeAttribute("onclick");
        el.addEventListener("click", HANDLERS[i].run.bind(null, el, match));
        return;
      }
    }
    if (window.console) {
      window.console.warn("yijia.js: an inline handler it does not know", code);
    }
  }

  function takeOverWithin(root) {
    if (root.nodeType !== 1) {
      return;
    }
    if (root.hasAttribute("onclick")) {
      takeOver(root);
    }
    var found = root.querySelectorAll("[onclick]");
    for (var i = 0; i < found.length; i++) {
      takeOver(found[i]);
    }
  }

  takeOverWithin(document.documentElement);
  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(takeOverWithin);
    });
  }).observe(document.documentElement, { childList: true, subtree: true });

  window.addEventListener(
    "click",
    function (event) {
      var link = event.target.closest && event.target.closest("a[href]");
      if (link && /^\s*javascript:/i.test(link.getAttribute("href"))) {
        event.preventDefault();
      }
    },
    true
  );

  // --------------------------------------------------------------- 4
  function fitAreasToRole(roleSelect, areaSelect) {
    var areaLevels = JSON.parse(areaSelect.getAttribute("data-area-levels") || "{}");
    var roleLevels = JSON.parse(areaSelect.getAttribute("data-role-levels") || "{}");
    var role = roleSelect.value;
    var known = Object.prototype.hasOwnProperty.call(roleLevels, role);
    var level = known ? roleLevels[role] : undefined;
    var cleared = false;
    for (var i = 0; i < areaSelect.options.length; i++) {
      var option = areaSelect.options[i];
      var optionLevel = areaLevels[option.value];
      if (optionLevel === undefined) {
        continue; // the blank choice
      }
      var fits = !known || optionLevel === level;
      option.disabled = !fits;
      if (!fits && option.selected) {
        option.selected = false;
        cleared = true;
      }
    }
    if (cleared && window.jQuery) {
      window.jQuery(areaSelect).val("__None").trigger("change");
    }
  }

  function setUpAccountForm() {
    var roleSelect = document.getElementById("role");
    var areaSelect = document.querySelector("select[data-area-levels]");
    if (!roleSelect || !areaSelect) {
      return;
    }
    fitAreasToRole(roleSelect, areaSelect);
    roleSelect.addEventListener("change", function () {
      fitAreasToRole(roleSelect, areaSelect);
    });
    if (window.jQuery) {
      // select2 reports its changes through jQuery events
      window.jQuery(roleSelect).on("change", function () {
        fitAreasToRole(roleSelect, areaSelect);
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAccountForm);
  } else {
    setUpAccountForm();
  }
})();
