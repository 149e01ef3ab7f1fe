/* The pages' one script (no inline scripts: the Content-Security-Policy allows none).
   Part of the EHR suite, Apache-2.0 (see LICENSE.txt beside it). Everything works without it;
   it only helps:
   - checks a form in the browser before it is sent (required fields, numbers and their bounds),
     showing the message beside the field, as the server's errors are shown; the server checks
     everything again;
   - "添加一行" adds an empty row to a repeated group;
   - puts the focus on the first error when a page comes back with errors;
   - "打印" on a print page opens the browser's print dialogue. */
(function () {
  "use strict";

  function setError(input, message) {
    var box = input.closest(".field, fieldset.choice");
    if (!box) { return; }
    var span = box.querySelector(".field-error.client");
    if (!message) {
      if (span) { span.remove(); }
      box.classList.remove("invalid-client");
      input.removeAttribute("aria-invalid");
      return;
    }
    if (!span) {
      span = document.createElement("span");
      span.className = "field-error client";
      span.setAttribute("role", "alert");
      span.id = "cerr-" + (input.id || input.name).replace(/\./g, "-");
      box.appendChild(span);
    }
    span.textContent = message;
    box.classList.add("invalid-client");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", span.id);
  }

  function problem(input) {
    var value = (input.value || "").trim();
    if (input.type === "radio") {
      if (!input.required) { return null; }
      var group = input.form.querySelectorAll('input[type=radio][name="' + input.name + '"]');
      for (var i = 0; i < group.length; i++) { if (group[i].checked) { return null; } }
      return "请选择一项。";
    }
    if (input.required && !value) { return "必填。"; }
    var kind = input.getAttribute("data-number");
    if (kind && value) {
      var number = Number(value);
      if (!isFinite(number)) { return "请填写数字。"; }
      if (kind === "integer" && Math.floor(number) !== number) { return "请填写整数。"; }
      var min = input.getAttribute("data-min"), max = input.getAttribute("data-max");
      if (min !== null && number < Number(min)) { return "不能小于 " + min + "。"; }
      if (max !== null && number > Number(max)) { return "不能大于 " + max + "。"; }
    }
    return null;
  }

  function check(form) {
    var first = null, seen = {};
    var inputs = form.querySelectorAll("input:not([type=hidden]), select, textarea");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if (input.type === "radio") {
        if (seen[input.name]) { continue; }
        seen[input.name] = true;
      }
      var message = problem(input);
      setError(input, message);
      if (message && !first) { first = input; }
    }
    if (first) { first.focus(); }
    return !first;
  }

  function addRow(button) {
    var set = button.closest("[data-repeat]");
    var rows = set.querySelectorAll("[data-row]");
    var last = rows[rows.length - 1];
    var index = rows.length;
    var copy = last.cloneNode(true);
    copy.setAttribute("data-row", String(index));
    var from = "." + (index - 1) + ".", to = "." + index + ".";
    var fromId = "-" + (index - 1) + "-", toId = "-" + index + "-";
    copy.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
      if (el.name) { el.name = el.name.replace(from, to); }
      if (el.id) { el.id = el.id.replace(fromId, toId); }
      if (el.htmlFor) { el.htmlFor = el.htmlFor.replace(fromId, toId); }
      if (el.matches("input[type=radio], input[type=checkbox]")) { el.checked = false; }
      else if (el.matches("input, textarea")) { el.value = ""; }
      else if (el.matches("select")) { el.selectedIndex = 0; }
    });
    copy.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    last.after(copy);
    var focus = copy.querySelector("input, select, textarea");
    if (focus) { focus.focus(); }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-checked") && !check(form)) { event.preventDefault(); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (button) { addRow(button); }
    if (event.target.closest("[data-print]")) { window.print(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    var first = document.querySelector("[aria-invalid=true]");
    if (first) { first.focus(); } else if (summary) { summary.focus(); }
  });
})();
