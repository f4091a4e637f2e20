// The import page's progress bar: asks the batch's progress every second and a half,
// moves the bar, and reloads the page when the job is done (the totals and errors are
// then on it). Without JavaScript the page has a refresh link.
(function () {
  var box = document.getElementById('import-progress');
  if (!box || !window.fetch) { return; }
  var bar = document.getElementById('import-bar');
  var rows = document.getElementById('import-rows');
  function poll() {
    fetch(box.getAttribute('data-url'), { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        bar.style.width = data.percent + '%';
        bar.setAttribute('aria-valuenow', data.percent);
        bar.textContent = data.percent + '%';
        rows.textContent = data.rows_done + ' / ' + (data.rows_total || '?');
        if (data.running) { window.setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  bar.style.width = bar.getAttribute('aria-valuenow') + '%';
  window.setTimeout(poll, 1000);
}());
