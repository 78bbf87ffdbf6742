// A form with data-confirm="question" asks the question before it is sent; "Cancel" keeps it.
// (Script lives here, not in onsubmit attributes: the Content-Security-Policy runs no inline script.)
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) {
    return;
  }
  if (!window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
