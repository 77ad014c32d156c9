// Progressive enhancement for a ZIP of letters being built: ask the server every two
// seconds how far it has got, move the progress bar, and reload the page when the ZIP is
// ready (or has failed), so the page shows the download link. Without JavaScript the page
// offers a link to refresh it, which works just as well.

const POLL_MS = 2000;
const GIVE_UP_AFTER = 900; // half an hour; after that the page's own advice stands

function show(element, data) {
  const percent = Math.max(0, Math.min(100, Number(data.percent) || 0));
  const bar = element.querySelector("[data-bundle-progress]");
  if (bar) {
    bar.value = percent;
    bar.textContent = `${percent}%`;
  }
  const fields = {
    "[data-bundle-status]": data.status_text,
    "[data-bundle-percent]": `${percent}%`,
    "[data-bundle-count]": `${data.done} of ${data.total}`,
  };
  for (const [selector, text] of Object.entries(fields)) {
    const node = element.querySelector(selector);
    if (node && text !== undefined) node.textContent = text;
  }
}

async function poll(element, count) {
  try {
    const response = await fetch(element.dataset.bundleStatusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) {
      const data = await response.json();
      show(element, data);
      if (data.status === "ready" || data.status === "failed") {
        window.location.reload();
        return;
      }
    }
  } catch {
    // A network blip: try again on the next tick.
  }
  if (count < GIVE_UP_AFTER) setTimeout(() => poll(element, count + 1), POLL_MS);
}

export function initBundleProgress(root = document) {
  for (const element of root.querySelectorAll("[data-bundle-status-url]")) {
    const hint = element.querySelector("[data-bundle-hint]");
    if (hint) {
      hint.textContent =
        "This page updates by itself. You can leave it: the ZIP will be listed on the " +
        "download letters page when it is ready.";
    }
    setTimeout(() => poll(element, 1), POLL_MS);
  }
}

initBundleProgress();
