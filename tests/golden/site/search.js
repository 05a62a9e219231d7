// The site's search, on the search page only: every other page of the site runs no script.
// It searches the index that `cpdgen build` made with Pagefind (pagefind/ beside this file),
// in the browser, so nothing typed here leaves the reader's computer.
"use strict";
(function () {
  const form = document.getElementById("search-form");
  const input = document.getElementById("search-input");
  const status = document.getElementById("search-status");
  const results = document.getElementById("search-results");
  const root = new URL(".", document.currentScript.src);
  const MAX_SHOWN = 20;

  // Pagefind's excerpt is the page's text, escaped, with <mark> around the words found: keep only that.
  function excerpt(html) {
    const paragraph = document.createElement("p");
    const parsed = new DOMParser().parseFromString(html, "text/html");
    for (const node of parsed.body.childNodes) {
      if (node.nodeName === "MARK") {
        const mark = document.createElement("mark");
        mark.textContent = node.textContent;
        paragraph.append(mark);
      } else {
        paragraph.append(node.textContent);
      }
    }
    return paragraph;
  }

  function item(data) {
    const entry = document.createElement("li");
    const link = document.createElement("a");
    // "page": the activity page's address in the site, which the build put in the index.
    link.href = new URL(data.meta.page, root).href;
    link.textContent = data.meta.title || data.meta.page;
    entry.append(link, excerpt(data.excerpt));
    return entry;
  }

  async function start() {
    if (root.protocol !== "http:" && root.protocol !== "https:") {
      status.textContent = "Search works when the site is opened from its web address (or with cpdgen serve), not from a file.";
      return;
    }
    let pagefind;
    try {
      pagefind = await import(new URL("pagefind/pagefind.js", root).href);
      await pagefind.options({ baseUrl: root.pathname });
      await pagefind.init();
    } catch (error) {
      status.textContent = "Search could not start: the search index did not load.";
      return;
    }
    let latest = 0;
    async function run() {
      const query = input.value.trim();
      const ticket = ++latest;
      if (!query) {
        results.replaceChildren();
        status.textContent = "";
        return;
      }
      const search = await pagefind.search(query);
      const found = await Promise.all(search.results.slice(0, MAX_SHOWN).map((result) => result.data()));
      if (ticket !== latest) {
        return; // a newer search has started
      }
      results.replaceChildren(...found.map(item));
      const count = search.results.length;
      status.textContent =
        count === 0 ? `No activity matches “${query}”.`
        : `${count} ${count === 1 ? "activity matches" : "activities match"} “${query}”` +
          (count > MAX_SHOWN ? `; the first ${MAX_SHOWN} are shown.` : ".");
    }
    form.hidden = false;
    status.textContent = "";
    input.addEventListener("input", run);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run();
    });
    const asked = new URLSearchParams(window.location.search).get("q");
    if (asked) {
      input.value = asked;
      run();
    }
  }

  start();
})();
