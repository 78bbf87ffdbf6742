// The scheduled task form (django-celery-beat): the crontab field's help text also reads the chosen
// schedule in words. django-celery-beat ships this inline; here it is a file, for the
// Content-Security-Policy. Loaded after the admin's jQuery, at the end of the form.
"use strict";

(function ($) {
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const help = $(".field-crontab .help");
  const originalCrontabHelp = help.html();

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    const words = readableCrontabs[$("#id_crontab").val()];
    help.html(`${originalCrontabHelp}<br/>Translation: `).append(document.createTextNode(words ?? ""));
  });
})(django.jQuery);
