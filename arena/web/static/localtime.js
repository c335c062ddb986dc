// Progressive enhancement: every <time> shows the reader's local time on hover. Pages read fine without it.
document.querySelectorAll("time[datetime]").forEach(function (el) {
  var when = new Date(el.getAttribute("datetime"));
  if (!isNaN(when)) { el.title = "Your time: " + when.toLocaleString(); }
});
