// 显示 (reveal) on details pages: posts the reveal form in the background and shows the
// full value in place of the mask. Without JavaScript the form posts as usual and the
// details page comes back with the value shown. Either way the server records it.
(function () {
  if (window.yijiaReveal) { return; }
  window.yijiaReveal = true;
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains('yijia-reveal') || !window.fetch) { return; }
    event.preventDefault();
    fetch(form.action, {
      method: 'POST',
      body: new FormData(form),
      headers: { 'Accept': 'application/json' },
      credentials: 'same-origin'
    }).then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    }).then(function (data) {
      var holder = form.closest('.yijia-revealable');
      holder.querySelector('.yijia-reveal-value').textContent = data.value;
      form.remove();
    }).catch(function () { form.submit(); });
  });
}());
