/* Yijia's form widgets in the user's language and on a phone (a file, so that the
 * Content-Security-Policy needs no inline script). Loaded after Flask-Admin's moment.js
 * and select2, before its daterangepicker.js and form.js (which set widgets up once
 * the page is ready, after this file's DOMContentLoaded handler has run).
 *
 * 1. Date pickers speak Chinese when the page does (<meta name="yijia-locale">):
 *    moment's month and weekday names (Monday first) and daterangepicker's buttons.
 * 2. Select2's messages ("no matches", "searching", "type N more characters") too.
 * 3. On a phone (a narrow screen or a finger for a pointer), a form's date field is the
 *    browser's own date input (type="date"): the system's picker opens and closes,
 *    instead of a calendar that stays open over the next field. Its value has the
 *    same YYYY-MM-DD form, so the server reads it unchanged. List filters keep their
 *    range picker, laid out to fit the screen (yijia-layout.css).
 * 4. On a phone, each row of a list (and of our tables with three columns or more) is a
 *    card (yijia-layout.css, .yj-cards): every cell gets its column's name
 *    (data-label) to show beside the value, and empty cells are left out. Without this
 *    script a list is a table that scrolls sideways.
 */
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="yijia-locale"]');
  var isChinese = !!meta && /^zh/i.test(meta.getAttribute("content") || "");
  var PHONE = "(max-width: 767.98px), (pointer: coarse)";

  // --------------------------------------------------------------- 1
  var DATERANGEPICKER_LABELS = {
    applyLabel: "确定",
    cancelLabel: "取消",
    fromLabel: "从",
    toLabel: "至",
    weekLabel: "周",
    customRangeLabel: "自定义"
  };

  function chineseMoment() {
    var moment = window.moment;
    if (!moment || typeof moment.defineLocale !== "function") {
      return;
    }
    if (moment.locale() !== "zh-cn") {
      moment.defineLocale("zh-cn", {
        months: "一月_二月_三月_四月_五月_六月_七月_八月_九月_十月_十一月_十二月".split("_"),
        monthsShort: "1月_2月_3月_4月_5月_6月_7月_8月_9月_10月_11月_12月".split("_"),
        weekdays: "星期日_星期一_星期二_星期三_星期四_星期五_星期六".split("_"),
        weekdaysShort: "周日_周一_周二_周三_周四_周五_周六".split("_"),
        weekdaysMin: "日_一_二_三_四_五_六".split("_"),
        longDateFormat: {
          LT: "HH:mm",
          LTS: "HH:mm:ss",
          L: "YYYY-MM-DD",
          LL: "YYYY年M月D日",
          LLL: "YYYY年M月D日 HH:mm",
          LLLL: "YYYY年M月D日dddd HH:mm"
        },
        week: { dow: 1, doy: 4 }
      });
      moment.locale("zh-cn");
    }
  }

  function chineseDaterangepicker() {
    var $ = window.jQuery;
    if (!$ || !$.fn.daterangepicker || $.fn.daterangepicker.yijiaLabels) {
      return;
    }
    var original = $.fn.daterangepicker;
    $.fn.daterangepicker = function (options, callback) {
      var withLabels = $.extend(true, { locale: DATERANGEPICKER_LABELS }, options || {});
      return original.call(this, withLabels, callback);
    };
    $.fn.daterangepicker.yijiaLabels = true;
  }

  // --------------------------------------------------------------- 2
  function chineseSelect2() {
    var $ = window.jQuery;
    if (!$ || !$.fn.select2 || !$.fn.select2.defaults) {
      return;
    }
    $.extend($.fn.select2.defaults, {
      formatNoMatches: function () {
        return "没有找到匹配项";
      },
      formatInputTooShort: function (input, min) {
        return "请再输入 " + (min - input.length) + " 个字";
      },
      formatInputTooLong: function (input, max) {
        return "请删掉 " + (input.length - max) + " 个字";
      },
      formatSelectionTooBig: function (limit) {
        return "最多只能选 " + limit + " 项";
      },
      formatLoadMore: function () {
        return "正在加载更多…";
      },
      formatSearching: function () {
        return "正在搜索…";
      },
      formatAjaxError: function () {
        return "加载失败";
      },
      formatMatches: function (matches) {
        return "找到 " + matches + " 项，可用上下键选择。";
      }
    });
  }

  // --------------------------------------------------------------- 3
  function nativeDatesOnPhones() {
    if (!window.matchMedia || !window.matchMedia(PHONE).matches) {
      return;
    }
    var fields = document.querySelectorAll('form input[data-role="datepicker"]');
    for (var i = 0; i < fields.length; i++) {
      var input = fields[i];
      if (input.closest(".inline-field-template")) {
        continue; // copied into the page later by Flask-Admin, as a widget it sets up
      }
      input.removeAttribute("data-role"); // so that form.js leaves it alone
      input.setAttribute("type", "date");
      input.classList.add("yj-native-date");
    }
  }

  // --------------------------------------------------------------- 4
  function cardsOnPhones() {
    if (!window.matchMedia || !window.matchMedia("(max-width: 767.98px)").matches) {
      return;
    }
    // Flask-Admin's lists, and our own tables with a header of three columns or more
    // (to-do, reports, a sponsor's projects); two-column details tables stay as they are
    var tables = document.querySelectorAll("table.model-list, table.table");
    for (var t = 0; t < tables.length; t++) {
      var table = tables[t];
      var isList = table.classList.contains("model-list");
      var labels = [];
      var headers = table.querySelectorAll("thead th");
      for (var h = 0; h < headers.length; h++) {
        var text = headers[h].textContent.trim();
        if (isList && !headers[h].classList.contains("column-header")) {
          text = ""; // the checkbox and buttons columns
        }
        for (var span = headers[h].colSpan || 1; span > 0; span--) {
          labels.push(text);
        }
      }
      if (!isList && labels.length < 3) {
        continue;
      }
      var rows = table.querySelectorAll("tbody tr, tfoot tr");
      for (var r = 0; r < rows.length; r++) {
        var cells = rows[r].children;
        if (cells.length === 1) {
          continue; // "no records"
        }
        for (var c = 0, column = 0; c < cells.length; c++) {
          var cell = cells[c];
          if (labels[column] && (cell.colSpan || 1) === 1) {
            cell.setAttribute("data-label", labels[column]);
          }
          column += cell.colSpan || 1;
          if (!cell.textContent.trim() && !cell.querySelector("input, img, a, button, span.fa")) {
            cell.classList.add("yj-blank");
          }
        }
      }
      table.classList.add("yj-cards");
    }
  }

  if (isChinese) {
    chineseMoment();
    chineseSelect2();
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (isChinese) {
      chineseDaterangepicker();
    }
    nativeDatesOnPhones();
    cardsOnPhones();
  });
})();
