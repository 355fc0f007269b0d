// Save a form in place: post it with fetch, swap in the sections the server sends back (the
// judgement, and the history with the new entries), and keep the version counter current so
// the next save is checked against it. A refused save shows the error summary at the top of
// the form and each message next to its field. Without this script the form posts normally
// and the page comes back, with the same summary and messages when it is refused.
"use strict";

function showStatus(form, text, kind) {
  const status = form.querySelector(".inplace-status");
  status.textContent = text;
  status.className = "inplace-status alert alert-" + kind;
}

function clearStatus(form) {
  const status = form.querySelector(".inplace-status");
  status.textContent = "";
  status.className = "inplace-status";
}

// Remove the messages of the last try, and their ids from the fields they described.
function clearErrors(form) {
  form.querySelectorAll(".error-summary, .field-error").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  form.querySelectorAll("[aria-describedby]").forEach((node) => {
    const kept = node
      .getAttribute("aria-describedby")
      .split(/\s+/)
      .filter((id) => id && !id.endsWith("-error"));
    if (kept.length) node.setAttribute("aria-describedby", kept.join(" "));
    else node.removeAttribute("aria-describedby");
  });
}

function describeBy(node, id) {
  const before = node.getAttribute("aria-describedby") || "";
  node.setAttribute("aria-describedby", (before + " " + id).trim());
}

function showErrors(form, errors) {
  Object.entries(errors).forEach(([name, messages]) => {
    const input = form.querySelector(`[name="${name}"]`);
    if (!input) return;
    const holder = input.closest(".form-field") || form;
    const choice = input.type === "checkbox" || input.type === "radio";
    const paragraph = document.createElement("p");
    paragraph.className = "field-error";
    // The ids the page gives when it draws the message itself (templates/_macros.html).
    paragraph.id = `${choice ? name : input.id || name}-error`;
    paragraph.textContent = messages.join(" ");
    holder.appendChild(paragraph);
    input.setAttribute("aria-invalid", "true");
    describeBy(choice ? holder : input, paragraph.id);
  });
}

function showSummary(form, html) {
  if (!html) return;
  form.querySelector(".inplace-status").insertAdjacentHTML("beforebegin", html);
  const summary = form.querySelector(".error-summary");
  if (summary) summary.focus();
}

async function saveInPlace(event) {
  const form = event.target;
  event.preventDefault();
  clearErrors(form);
  clearStatus(form);
  const button = form.querySelector("[type=submit]");
  const buttonHadFocus = document.activeElement === button;
  button.disabled = true;
  let summaryShown = false;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const data = await response.json();
    if (data.ok) {
      document.getElementById(form.dataset.inplace).outerHTML = data.html;
      const history = document.getElementById("history");
      if (history && data.history) history.innerHTML = data.history;
      form.querySelector('[name="version"]').value = data.version;
      showStatus(form, data.message, "success");
    } else if (data.conflict) {
      showStatus(form, [data.message, ...data.theirs].join(" / "), "error");
    } else {
      showErrors(form, data.errors || {});
      showSummary(form, data.summary);
      summaryShown = Boolean(data.summary);
      if (!summaryShown) showStatus(form, data.message, "error");
    }
  } catch (error) {
    // A network failure or an error page: fall back to an ordinary post.
    form.removeEventListener("submit", saveInPlace);
    form.submit();
  } finally {
    button.disabled = false;
    // Disabling the focused button sent the focus to the page: give it back, so a keyboard
    // user stays in the form instead of starting again from the top (the summary, when
    // shown, has the focus instead: it is what to read first).
    if (buttonHadFocus && !summaryShown && document.activeElement === document.body) {
      button.focus();
    }
  }
}

document.querySelectorAll("form[data-inplace]").forEach((form) => {
  form.addEventListener("submit", saveInPlace);
});
