// Regeln: check the rules while the admin types and refresh the preview.
// Progressive enhancement only: without this script the form's buttons do the same.
"use strict";
(function () {
  var form = document.getElementById("rules-form");
  if (!form || !window.fetch) { return; }
  var problemsBox = document.getElementById("problems");
  var save = document.getElementById("save");
  var previewUrl = form.getAttribute("data-preview");
  var validateUrl = form.getAttribute("data-validate");
  var timer = null;
  var generation = 0;

  function body() {
    return new URLSearchParams(new FormData(form));
  }

  function post(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body()
    });
  }

  function where(p) {
    var parts = [];
    if (p.rule) { parts.push("Regel " + p.rule); }
    if (p.line) { parts.push("Zeile " + p.line + ", Spalte " + p.column); }
    return parts.length ? parts.join(", ") + ": " : "";
  }

  function showProblems(problems) {
    var fields = form.querySelectorAll("[aria-invalid]");
    for (var i = 0; i < fields.length; i++) { fields[i].removeAttribute("aria-invalid"); }
    problemsBox.textContent = "";
    if (save) { save.disabled = problems.length > 0; }
    if (!problems.length) { return; }
    var box = document.createElement("div");
    box.className = "error";
    box.setAttribute("role", "alert");
    var intro = document.createElement("p");
    intro.textContent = "Noch nicht speicherbar – bitte korrigieren:";
    box.appendChild(intro);
    var list = document.createElement("ul");
    problems.forEach(function (p) {
      var item = document.createElement("li");
      item.className = "problem";
      item.textContent = where(p) + p.message;
      list.appendChild(item);
      var field = p.rule && document.getElementById("expr_" + p.rule);
      if (field) { field.setAttribute("aria-invalid", "true"); }
    });
    box.appendChild(list);
    problemsBox.appendChild(box);
  }

  function refreshPreview(mine) {
    post(previewUrl).then(function (r) { return r.text(); }).then(function (html) {
      if (mine !== generation) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("preview");
      var old = document.getElementById("preview");
      if (!fresh) { return; }
      fresh.setAttribute("aria-live", "polite");
      if (old) { old.replaceWith(fresh); } else { form.after(fresh); }
    }).catch(function () {});
  }

  function check() {
    var mine = ++generation;
    post(validateUrl).then(function (r) { return r.json(); }).then(function (answer) {
      if (mine !== generation) { return; }
      showProblems(answer.problems || []);
      if (answer.ok && previewUrl) { refreshPreview(mine); }
    }).catch(function () {});
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
})();
