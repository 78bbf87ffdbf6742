// The printable connection sheet: its "Print" button opens the browser's print dialog.
// (Script lives here, not in an onclick attribute: the Content-Security-Policy runs no inline script.)
"use strict";

document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});
