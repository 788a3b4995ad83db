// Chợ Số pages: small progressive enhancements. Every page works without
// this file; it only adds live checks, a countdown and conveniences.
"use strict";
(function () {
  // Print buttons: hidden in the page, as without this script they do
  // nothing (the browser's own Print still works).
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
    b.hidden = false;
  });
  // Enrollment countdown. It ticks out of any live region (a screen
  // reader would read every second); its polite region says only that
  // the code expired.
  var cd = document.getElementById("countdown"), cdStatus = document.getElementById("countdown-status");
  if (cd) {
    var end = Date.parse(cd.getAttribute("datetime"));
    var tick = function () {
      var left = Math.round((end - Date.now()) / 1000);
      if (left <= 0) {
        cd.textContent = cd.getAttribute("data-expired");
        if (cdStatus) { cdStatus.textContent = cd.getAttribute("data-expired"); }
        return;
      }
      cd.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      setTimeout(tick, 1000);
    };
    tick();
  }
  // Payout forms: check the account as it is typed and show its VietQR.
  document.querySelectorAll("form[data-payout]").forEach(function (f) {
    var status = f.querySelector("#payout-status"), box = f.querySelector("#payout-qr"), timer;
    if (!status || !box) { return; }
    // mark: set the fields' aria-invalid from the answer. The page's
    // first check leaves them as the server's answer to the form set them.
    var check = function (mark) {
      var q = new URLSearchParams();
      ["bank", "account", "holder_name"].forEach(function (n) { q.set(n, f.elements[n].value); });
      var svc = f.querySelector("input[name=service]:checked");
      q.set("service", svc ? svc.value : "account");
      if (!q.get("bank") || !q.get("account")) { return; }
      fetch("/web/payout-check?" + q.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (res) {
          // The status is a polite live region: written again with the
          // same words, it is read again at every pause in the typing.
          var text = res.bank ? res.bank + " · " + res.message : res.message;
          if (status.textContent !== text) { status.textContent = text; }
          status.className = res.ok ? "hint ok" : "hint bad";
          // The answer names its field: a BIN the directory lacks is the bank's.
          var bad = res.ok ? "" : res.field || "account";
          if (mark) {
            ["bank", "account"].forEach(function (n) { f.elements[n].setAttribute("aria-invalid", n === bad ? "true" : "false"); });
          }
          box.innerHTML = res.ok ? res.svg : "";
        })
        .catch(function () {});
    };
    f.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 300, true); });
    f.addEventListener("change", function () { check(true); });
    check(false);
  });
})();
