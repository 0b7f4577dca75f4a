"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const t = document.getElementById("token");
  if (t) t.focus();
});
