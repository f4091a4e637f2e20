/* Yijia's page behaviour, as a file: the Content-Security-Policy runs no inline script
 * and no inline event handler (onclick="..."), so what those did is done here.
 *
 * 1. <select data-autosubmit> submits its form when changed (street switcher).
 * 2. <form data-confirm="question"> asks before it is submitted.
 * 3. What Flask-Admin 2.2.1's inline handlers did, for our copies of its templates
 *    (app/templates/admin/actions.html, model/row_actions.html, model/layout.html,
 *    model/inline_list_base.html), which carry data attributes instead:
 *    <a data-model-action="delete"> runs a list action, <a data-add-inline-field="id">
 *    adds an inline form, the delete button's form has data-confirm. Links to
 *    "javascript:void(0)" do nothing.
 *    x-editable's parsing of data attributes does without eval; a list's editable cells
 *    get the choices and token their column shares (written once a page).
 * 4. The account form offers only the areas whose level fits the chosen role.
 */
(function () {
  "use strict";

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
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target) {
      return;
    }
    var actionLink = target.closest("[data-model-action]");
    if (actionLink && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(actionLink.getAttribute("data-model-action"));
      return;
    }
    var addButton = target.closest("[data-add-inline-field]");
    if (addButton && window.faForm) {
      event.preventDefault();
      window.faForm.addInlineField(addButton, addButton.getAttribute("data-add-inline-field"));
    }
  });

  // a "javascript:void(0)" link is a button of a script: never a navigation (which
  // the policy would refuse)
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

  // x-editable (inline editing in lists) reads its data attributes with new Function(),
  // which the policy refuses (no 'unsafe-eval'): JSON.parse reads the same, since
  // Flask-Admin writes them with json.dumps. Patched as x-editable defines them.
  if (window.jQuery) {
    var editableUtils;
    Object.defineProperty(window.jQuery.fn, "editableutils", {
      configurable: true,
      enumerable: true,
      get: function () {
        return editableUtils;
      },
      set: function (utils) {
        editableUtils = utils;
        if (utils && typeof utils.tryParseJson === "function") {
          utils.tryParseJson = function (text, quiet) {
            if (typeof text === "string" && text.length && /^[{[].*[}\]]$/.test(text)) {
              try {
                return JSON.parse(text);
              } catch (error) {
                if (!quiet) {
                  throw error;
                }
              }
            }
            return text;
          };
        }
      }
    });
  }

  // A list writes the choices and token its inline-editable cells share once, on
  // <span hidden data-yj-editable="column">, not on every row (app/admin/listing.py):
  // each cell of that column gets them here, before x-editable reads them (Flask-Admin
  // starts it when the document is ready; this runs as the script loads, below the list).
  var shared = document.querySelectorAll("span[data-yj-editable]");
  for (var s = 0; s < shared.length; s++) {
    var column = shared[s].getAttribute("data-yj-editable");
    var cells = document.querySelectorAll("a[data-role^='x-editable'][data-pk]");
    for (var c = 0; c < cells.length; c++) {
      if (cells[c].getAttribute("name") !== column) {
        continue;
      }
      for (var a = 0; a < shared[s].attributes.length; a++) {
        var attribute = shared[s].attributes[a];
        if (/^data-(source|csrf)$/.test(attribute.name) && !cells[c].hasAttribute(attribute.name)) {
          cells[c].setAttribute(attribute.name, attribute.value);
        }
      }
    }
  }

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
