// Save a form in place: post it with fetch, swap in the section the server sends back, and
// keep the version counter current so the next save is checked against it. Without this
// script the form posts normally and the page reloads.
"use strict";

function showStatus(form, text, kind) {
  const status = form.querySelector(".inplace-status");
  status.textContent = text;
  status.className = "inplace-status alert alert-" + kind;
}

function clearErrors(form) {
  form.querySelectorAll(".field-error.inplace").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

function showErrors(form, errors) {
  Object.entries(errors).forEach(([name, messages]) => {
    const input = form.querySelector(`[name="${name}"]`);
    if (!input) return;
    input.setAttribute("aria-invalid", "true");
    const holder = input.closest(".form-field") || form;
    messages.forEach((message) => {
      const paragraph = document.createElement("p");
      paragraph.className = "field-error inplace";
      paragraph.textContent = message;
      holder.appendChild(paragraph);
    });
  });
}

async function saveInPlace(event) {
  const form = event.target;
  event.preventDefault();
  clearErrors(form);
  const button = form.querySelector("[type=submit]");
  const buttonHadFocus = document.activeElement === button;
  button.disabled = true;
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
      form.querySelector('[name="version"]').value = data.version;
      showStatus(form, data.message, "success");
    } else if (data.conflict) {
      showStatus(form, [data.message, ...data.theirs].join(" / "), "error");
    } else {
      showErrors(form, data.errors || {});
      showStatus(form, data.message, "error");
    }
  } catch (error) {
    // A network failure or an error page: fall back to an ordinary post.
    form.removeEventListener("submit", saveInPlace);
    form.submit();
  } finally {
    button.disabled = false;
    // Disabling the focused button sent the focus to the page: give it back, so a keyboard
    // user stays in the form instead of starting again from the top.
    if (buttonHadFocus && document.activeElement === document.body) button.focus();
  }
}

document.querySelectorAll("form[data-inplace]").forEach((form) => {
  form.addEventListener("submit", saveInPlace);
});
