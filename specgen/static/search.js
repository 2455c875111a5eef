// Client-side search over the index the build writes (search-index.js,
// loaded by a plain <script> tag so it also works from file://).
(function () {
  "use strict";
  var box = document.getElementById("search-box");
  var list = document.getElementById("search-results");
  var entries = window.SPECGEN_SEARCH || [];
  var root = document.body.getAttribute("data-root") || "";
  var LIMIT = 25;

  // Exact matches first, then prefix matches, then the rest; stable within each.
  function rank(title, query) {
    var t = title.toLowerCase();
    if (t === query) { return 0; }
    if (t.indexOf(query) === 0) { return 1; }
    return 2;
  }

  function search(query) {
    query = query.trim().toLowerCase();
    if (!query) { return []; }
    var words = query.split(/\s+/);
    var hits = [];
    entries.forEach(function (entry, i) {
      var hay = (entry.t + " " + entry.k).toLowerCase();
      if (words.every(function (w) { return hay.indexOf(w) !== -1; })) {
        hits.push({ entry: entry, score: rank(entry.t, query), order: i });
      }
    });
    hits.sort(function (a, b) { return a.score - b.score || a.order - b.order; });
    return hits.slice(0, LIMIT).map(function (h) { return h.entry; });
  }

  function show(results) {
    list.textContent = "";
    results.forEach(function (entry) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = root + entry.u;
      link.textContent = entry.t;
      var kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = entry.k === "section" ? entry.p : entry.k;
      item.appendChild(link);
      item.appendChild(kind);
      list.appendChild(item);
    });
    list.hidden = results.length === 0;
  }

  if (box && list) {
    box.addEventListener("input", function () { show(search(box.value)); });
  }
  window.specgenSearch = search;
}());
