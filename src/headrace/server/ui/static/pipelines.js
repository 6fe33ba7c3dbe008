// Published pipeline and endpoint pages: copy buttons for the snippets, and the path suggestions that
// follow the chosen datastore. Without JavaScript the snippets stay selectable text and the form works.
"use strict";

(function () {
  const status = document.querySelector(".copy-status");

  async function copy(target) {
    const text = target.textContent;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (e) { /* fall back to selecting the text */ }
    const range = document.createRange();
    range.selectNodeContents(target);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", async function () {
      const target = document.getElementById(button.dataset.copy);
      const done = await copy(target);
      button.textContent = done ? "Copied" : "Copy";
      if (status) status.textContent = done ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy.";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
  });

  // A datalist per listed datastore: switch the path field's suggestions with the datastore.
  document.querySelectorAll("select[data-path-input]").forEach(function (select) {
    select.addEventListener("change", function () {
      const input = document.getElementById(select.dataset.pathInput);
      const list = Array.from(document.querySelectorAll("datalist[data-datastore]"))
        .find(function (d) { return d.dataset.datastore === select.value; });
      if (list) input.setAttribute("list", list.id); else input.removeAttribute("list");
    });
  });
})();

// A graph wider than its box starts scrolled to its middle, where the first steps usually are.
document.querySelectorAll(".dag-wrap").forEach(function (wrap) {
  if (wrap.scrollWidth > wrap.clientWidth) wrap.scrollLeft = (wrap.scrollWidth - wrap.clientWidth) / 2;
});
