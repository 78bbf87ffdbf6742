/* The upload component (templates/portal/includes/upload.html): while htmx sends the file, a
 * progress bar fed by htmx:xhr:progress; once the file is sent, "Checking N lines…" until the
 * answer replaces the component. Listeners sit on the document, so a swapped-in component needs
 * no new script. Without JavaScript the form simply posts. */
(function () {
  "use strict";
  if (window.dropCopyUpload) {
    return;
  }
  window.dropCopyUpload = true;

  function uploadForm(event) {
    var element = event.target;
    return element && element.closest ? element.closest("form[data-upload]") : null;
  }

  function parts(form) {
    return {
      bar: form.querySelector("[data-upload-bar]"),
      status: form.querySelector("[data-upload-status]"),
      input: form.querySelector("input[type=file]"),
    };
  }

  /* Count the file's non-blank lines below its header, for "Checking N lines…". */
  document.addEventListener("change", function (event) {
    var form = uploadForm(event);
    if (!form || event.target.type !== "file") {
      return;
    }
    delete form.dataset.lines;
    var file = event.target.files && event.target.files[0];
    if (!file || !file.text) {
      return;
    }
    file.text().then(function (text) {
      var lines = text.split(/\r\n|\n|\r/).filter(function (line) {
        return line.trim() !== "";
      });
      form.dataset.lines = String(Math.max(lines.length - 1, 0));
    });
  });

  function checking(form) {
    var count = form.dataset.lines;
    if (count === undefined) {
      return "Checking the file's lines…";
    }
    return "Checking " + count + " line" + (count === "1" ? "" : "s") + "…";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = uploadForm(event);
    if (!form) {
      return;
    }
    var p = parts(form);
    form.dataset.sent = "";
    p.bar.value = 0;
    p.bar.max = 100;
    p.bar.hidden = false;
    p.status.textContent = "Uploading…";
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = uploadForm(event);
    if (!form || form.dataset.sent === "yes") {
      return;
    }
    var p = parts(form);
    var detail = event.detail;
    if (detail.lengthComputable && detail.total > 0) {
      p.bar.max = detail.total;
      p.bar.value = detail.loaded;
      var percent = Math.floor((100 * detail.loaded) / detail.total);
      p.status.textContent = "Uploading… " + percent + "%";
      if (detail.loaded >= detail.total) {
        form.dataset.sent = "yes";
        p.status.textContent = checking(form);
      }
    }
  });

  /* The first loadend is the upload's own (the answer comes after it). */
  document.addEventListener("htmx:xhr:loadend", function (event) {
    var form = uploadForm(event);
    if (!form || form.dataset.sent === "yes") {
      return;
    }
    var p = parts(form);
    form.dataset.sent = "yes";
    p.bar.value = p.bar.max;
    p.status.textContent = checking(form);
  });

  /* A failed request (a network error, a server error) says so instead of hanging on "Checking". */
  document.addEventListener("htmx:responseError", function (event) {
    var form = uploadForm(event);
    if (form) {
      parts(form).status.textContent = "The import failed (" + event.detail.xhr.status + "). Try again.";
    }
  });
  document.addEventListener("htmx:sendError", function (event) {
    var form = uploadForm(event);
    if (form) {
      parts(form).status.textContent = "The file could not be sent. Check your connection and try again.";
    }
  });

  /* The answer replaces the component: move focus to its result, so it is read out. */
  document.addEventListener("htmx:afterSwap", function () {
    var result = document.querySelector("[data-testid=import-result]");
    if (result) {
      result.focus();
    }
  });
})();
