/*
 * The page around the quick reference's examples (/examples): the helper
 * functions those examples call, rendered with textContent only, and a copy
 * of console output on the page so nobody needs the developer tools.
 * A classic script: its functions are globals the examples can call. Its
 * words come from i18n.js (imported dynamically): each row names its key and
 * values in data-i18n/data-i18n-params, so a language switch rewrites it too.
 */

const examplesI18n = import("/static/js/i18n.js").then(async (i18n) => {
  await i18n.load("examples");
  return i18n;
});

/** Show `key` with `params` in `node`, now and after every language switch. */
function examplesSay(node, key, params) {
  node.dataset.i18n = key;
  node.dataset.i18nParams = JSON.stringify(params);
  examplesI18n.then((i18n) => i18n.apply(node));
}

function examplesBox(id) {
  return document.getElementById(id);
}

function examplesRow(parent, key, words, params) {
  let row = parent.querySelector(`[data-key="${CSS.escape(String(key))}"]`);
  if (!row) {
    row = document.createElement("li");
    row.dataset.key = String(key);
    parent.appendChild(row);
  }
  examplesSay(row, words, params);
  return row;
}

/** Called by "Handle Job Progress": one bar per job. */
function updateProgressBar(jobId, progress) {
  const list = examplesBox("ex-progress");
  let row = list.querySelector(`[data-job="${CSS.escape(String(jobId))}"]`);
  if (!row) {
    row = document.createElement("li");
    row.dataset.job = String(jobId);
    const label = document.createElement("span");
    const bar = document.createElement("progress");
    bar.max = 100;
    row.append(label, bar);
    list.appendChild(row);
  }
  examplesSay(row.querySelector("span"), "examples.job_row", { job: String(jobId), progress });
  row.querySelector("progress").value = Number(progress) || 0;
}

/** Called by "Handle Job Progress" with the job's message. */
function showMessage(text) {
  examplesBox("ex-message").textContent = text == null ? "" : String(text);
}

/** Called by "Handle Photo Import". */
function addPhotoToGallery(photo) {
  examplesRow(examplesBox("ex-gallery"), photo.id, "examples.photo_row",
    { photo: String(photo.id), name: String(photo.name), session: String(photo.sessionId) });
}

/** Called by "Handle Session Updates". */
function updateSessionCard(sessionId, data) {
  examplesRow(examplesBox("ex-sessions"), sessionId, "examples.session_row",
    { session: String(sessionId), processed: data.processed, total: data.total,
      progress: data.progress });
}

(function mirrorConsole() {
  const limit = 200;
  for (const level of ["log", "error"]) {
    const original = console[level].bind(console);
    console[level] = (...args) => {
      original(...args);
      const out = examplesBox("ex-console");
      if (!out) return;
      const line = document.createElement("li");
      line.className = level;
      line.textContent = args.map((a) => {
        if (typeof a === "string") return a;
        if (a instanceof Event) return `[${a.type} event]`;
        try { return JSON.stringify(a); } catch (err) { return String(a); }
      }).join(" ");
      out.prepend(line);
      while (out.children.length > limit) out.lastElementChild.remove();
    };
  }
})();
