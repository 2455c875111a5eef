// Live reload for `specgen serve`: wait for the server to say the build
// changed (a long-poll on /__reload), then reload, or show the build error.
(function () {
  "use strict";
  var version = null;
  function poll() {
    var url = "/__reload" + (version === null ? "" : "?since=" + encodeURIComponent(version));
    fetch(url, { cache: "no-store" }).then(function (response) {
      return response.json();
    }).then(function (state) {
      if (version !== null && state.version !== version) {
        window.location.reload();
        return;
      }
      version = state.version;
      poll();
    }).catch(function () {
      setTimeout(poll, 1000);
    });
  }
  poll();
}());
