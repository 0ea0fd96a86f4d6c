// Entry page script (no inline scripts: the CSP allows only 'self' and,
// on Mini App pages, https://telegram.org). The pages work without it
// except inside Telegram, where it hands Telegram.WebApp.initData to the
// form so the server can check who submits.
(function () {
  "use strict";
  var tg = window.Telegram && window.Telegram.WebApp;
  if (tg) {
    tg.ready();
    var inputs = document.querySelectorAll("input[name=init_data]");
    for (var i = 0; i < inputs.length; i++) { inputs[i].value = tg.initData || ""; }
    if (document.body.getAttribute("data-done") === "1") {
      setTimeout(function () { tg.close(); }, 2000);
    }
  }
  var copies = document.querySelectorAll("button[data-copy]");
  for (var j = 0; j < copies.length; j++) {
    (function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var done = function () { b.textContent = b.getAttribute("data-copied"); };
        var text = b.getAttribute("data-copy");
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, function () {});
        }
      });
    })(copies[j]);
  }
})();
