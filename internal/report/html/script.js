// meshdoctor matrix report: edge details, filter, legend toggles.
// Data comes from the JSON block #data; the DOM is built with textContent
// only, so no value from the manifests is ever parsed as HTML.
(function () {
  "use strict";
  var t0 = performance.now();
  var data = JSON.parse(document.getElementById("data").textContent);
  var edges = {};
  data.edges.forEach(function (e) { edges[e.id] = e; });
  var detail = document.getElementById("detail");

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function ref(o) {
    var s = o.kind + " " + (o.namespace ? o.namespace + "/" : "") + o.name;
    if (o.file) s += "  " + o.file + (o.line ? ":" + o.line : "");
    if (o.field) s += "  (" + o.field + ")";
    return s;
  }

  function renderTrace(box, p) {
    var t = p.trace || {};
    var head = el("div");
    head.appendChild(el("span", "verdict " + p.result, p.result));
    head.appendChild(document.createTextNode(" "));
    head.appendChild(el("code", null, (p.method ? p.method + " " : "") + p.url));
    box.appendChild(head);
    var who = p.gateway ? "external, entering through " + p.gateway : p.from;
    var meta = "from " + who;
    if (!p.gateway && p.clients > 1) meta += " (traced for it; the same decision for " + p.clients + " clients of its class)";
    box.appendChild(el("div", "obj", meta));
    if (p.result !== "ok") {
      box.appendChild(el("div", null, "cause: " + (t.cause || p.cause)));
      var status = t.http_status ? "HTTP " + t.http_status : "no HTTP response";
      if (t.envoy && t.envoy.response_flags) status += " " + t.envoy.response_flags;
      box.appendChild(el("div", null, "the caller sees: " + status));
      if (t.envoy && t.envoy.message) box.appendChild(el("pre", "envoy", t.envoy.message));
    } else if (p.security) {
      box.appendChild(el("div", null, "security: " + p.security));
    }
    if (t.summary) box.appendChild(el("p", "why", t.summary));
    if (t.fixes && t.fixes.length) {
      box.appendChild(el("h3", null, "fixes (verified by tracing the patched mesh)"));
      t.fixes.forEach(function (f, i) {
        var fx = el("div", "fix");
        fx.appendChild(el("div", null, (i + 1) + ". " + f.summary));
        if (f.security) fx.appendChild(el("div", "obj", "security cost: " + f.security));
        fx.appendChild(el("pre", null, f.patch));
        box.appendChild(fx);
      });
    } else if (p.result !== "ok") {
      box.appendChild(el("p", "hint", "fixes: run meshdoctor trace " + (p.gateway ? p.gateway : p.from) + " " + p.url));
    }
    var hops = el("ul", "hops");
    (t.hops || []).forEach(function (h) {
      var li = el("li", "hop-" + h.status);
      var mark = h.status === "ok" ? "✓ " : h.status === "fail" ? "✗ " : "· ";
      li.appendChild(el("strong", null, mark + h.step + ": "));
      li.appendChild(document.createTextNode(h.detail));
      (h.objects || []).forEach(function (o) { li.appendChild(el("div", "obj", ref(o))); });
      hops.appendChild(li);
    });
    if (hops.childNodes.length) {
      box.appendChild(el("h3", null, "hops"));
      box.appendChild(hops);
    }
    if (t.assumptions && t.assumptions.length) {
      var as = el("ul", "assumptions");
      t.assumptions.forEach(function (a) { as.appendChild(el("li", null, a)); });
      box.appendChild(el("h3", null, "assumptions"));
      box.appendChild(as);
    }
  }

  function select(id) {
    var prev = document.querySelectorAll(".edge.selected");
    for (var i = 0; i < prev.length; i++) prev[i].classList.remove("selected");
    var e = edges[id];
    var path = document.getElementById(id);
    while (detail.firstChild) detail.removeChild(detail.firstChild);
    if (!e || !path) {
      detail.appendChild(el("h2", null, "Edge"));
      detail.appendChild(el("p", "hint", id ? "no edge " + id : "Click an edge to see its trace."));
      return;
    }
    path.classList.add("selected");
    detail.setAttribute("data-edge", id);
    detail.appendChild(el("h2", null, e.from + " → " + e.to));
    var c = e.counts;
    var sum = c.paths + " path" + (c.paths === 1 ? "" : "s") + ": " + c.ok + " ok (" + c.mtls + " mTLS, " + c.tls + " TLS, " + c.plaintext + " plaintext), " + c.fail + " failing, " + c.denied + " denied";
    detail.appendChild(el("div", "counts", sum));
    if (data.aggregated && e.result === "ok") {
      detail.appendChild(el("p", "hint", "every path succeeds; the report keeps the traces of failing paths only when aggregated by namespace"));
    }
    var shown = 0;
    e.paths.forEach(function (pid) {
      var p = data.paths[pid];
      if (!p || shown >= 50) return;
      shown++;
      var box = el("div", "path");
      box.setAttribute("data-path", pid);
      renderTrace(box, p);
      detail.appendChild(box);
    });
    if (e.paths.length > shown) detail.appendChild(el("p", "hint", (e.paths.length - shown) + " more paths; meshdoctor matrix -o json lists them all"));
  }

  function fromHash() {
    var m = /^#edge=([A-Za-z0-9-]+)$/.exec(location.hash);
    select(m ? m[1] : "");
  }
  document.getElementById("graph").addEventListener("click", function (ev) {
    var t = ev.target;
    if (t && t.classList && t.classList.contains("edge") && !t.classList.contains("ingress")) {
      location.hash = "edge=" + t.id;
      return;
    }
    // A click on a node filters on it: its edges stay, the rest is dimmed.
    var node = t && t.closest ? t.closest(".node") : null;
    if (node && data.nodes[node.id]) {
      var f = document.getElementById("filter");
      f.value = f.value === data.nodes[node.id].label ? "" : data.nodes[node.id].label;
      apply();
    }
  });
  window.addEventListener("hashchange", fromHash);

  // Filter: nodes whose label matches, and the edges that touch them or
  // whose ends or cause match, stay; the rest is dimmed.
  var nodes = document.querySelectorAll(".node");
  var paths = document.querySelectorAll(".edge");
  var hiddenVerdicts = {};
  function apply() {
    var q = document.getElementById("filter").value.trim().toLowerCase();
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      var info = data.nodes[n.id] || {};
      var text = (info.label || "") + " " + (info.kind || "");
      if (info.labels) for (var k in info.labels) text += " " + k + "=" + info.labels[k];
      var hit = q !== "" && text.toLowerCase().indexOf(q) >= 0;
      n.classList.toggle("match", hit);
      n.classList.toggle("dim", q !== "" && !hit);
    }
    for (var j = 0; j < paths.length; j++) {
      var p = paths[j];
      var hay = (p.getAttribute("data-from") + " " + p.getAttribute("data-to") + " " + p.getAttribute("data-cause") + " " + p.getAttribute("data-result")).toLowerCase();
      var verdictHidden = false;
      for (var v in hiddenVerdicts) if (hiddenVerdicts[v] && p.classList.contains(v)) verdictHidden = true;
      p.classList.toggle("hidden", verdictHidden);
      p.classList.toggle("dim", q !== "" && hay.indexOf(q) < 0);
    }
  }
  document.getElementById("filter").addEventListener("input", apply);
  var boxes = document.querySelectorAll("#legend input[data-verdict]");
  for (var b = 0; b < boxes.length; b++) {
    boxes[b].addEventListener("change", function (ev) {
      hiddenVerdicts[ev.target.getAttribute("data-verdict")] = !ev.target.checked;
      apply();
    });
  }
  // A graph up to twice as wide as its pane is scaled to fit; a larger one
  // keeps its size and scrolls, so that its labels stay readable.
  var svg = document.getElementById("graph");
  var pane = document.getElementById("graph-pane");
  var natural = Number(svg.getAttribute("width"));
  if (svg.getAttribute("data-fit") === "true" && natural > pane.clientWidth && natural <= 2 * pane.clientWidth) {
    svg.setAttribute("width", String(pane.clientWidth - 4));
    svg.setAttribute("height", String(Math.round(Number(svg.getAttribute("height")) * (pane.clientWidth - 4) / natural)));
  }
  fromHash();
  // performance.now() counts from the start of navigation: the page parsed,
  // the graph laid out by the browser and this script run.
  document.body.setAttribute("data-script-ms", String(Math.round(performance.now() - t0)));
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-ready", "true");
})();
