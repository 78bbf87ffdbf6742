// The "Print" buttons of the portal's tables: print the page (the print stylesheet keeps the rows).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    window.print();
  }
});
