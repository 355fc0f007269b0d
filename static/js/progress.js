// Follow a long import: poll its progress once a second, update the bar and the sentence,
// and open the result when it is done (or reload to show a failure). Without this script the
// page shows where the import was when it was loaded, and the button opens the import.
"use strict";

(function () {
  const section = document.querySelector(".import-progress");
  if (!section) return;
  const bar = section.querySelector("progress");
  const text = section.querySelector(".import-progress-text");
  const format = (number) => number.toLocaleString(document.documentElement.lang || "ja");
  const say = (key, values) => {
    let sentence = section.dataset["text" + key.charAt(0).toUpperCase() + key.slice(1)] || "";
    Object.entries(values || {}).forEach(([name, value]) => {
      sentence = sentence.replace("%(" + name + ")s", format(value));
    });
    if (text.textContent !== sentence) text.textContent = sentence;
  };

  async function poll() {
    let state;
    try {
      const response = await fetch(section.dataset.progressUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      state = await response.json();
    } catch (error) {
      window.setTimeout(poll, 3000); // the server is busy or restarting: try again a little later
      return;
    }
    bar.max = Math.max(state.total, 1);
    if (state.state === "running") {
      if (state.phase === "write") {
        bar.value = state.done;
        say("write", { done: state.done, total: state.total });
      } else if (state.phase === "compare") {
        say("compare", { count: state.done });
      } else {
        say("read");
      }
      window.setTimeout(poll, 1000);
    } else if (state.state === "done") {
      bar.value = bar.max;
      say("done");
      window.location.assign(section.dataset.resultUrl);
    } else {
      window.location.reload(); // failed or interrupted: the server shows what to do next
    }
  }

  window.setTimeout(poll, 500);
})();
