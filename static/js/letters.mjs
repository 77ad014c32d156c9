// Progressive enhancement for letters "being prepared": ask the server every two seconds
// and swap in the download link when the PDF is ready. Without JavaScript the page says
// "Refresh this page to check", which works just as well.

const POLL_MS = 2000;
const GIVE_UP_AFTER = 150; // five minutes; after that the page's own advice stands

function sizeLabel(bytes) {
  return `${Math.max(1, Math.ceil((bytes || 0) / 1024))} KB`;
}

function showReady(element, data) {
  const link = document.createElement("a");
  link.className = "nhsuk-link";
  link.href = data.download_url;
  link.setAttribute("download", "");
  link.append("Download PDF");
  const hidden = document.createElement("span");
  hidden.className = "nhsuk-u-visually-hidden";
  hidden.textContent = `: ${element.dataset.letterLabel || "letter"}`;
  link.append(hidden, ` (${sizeLabel(data.size)})`);
  element.replaceChildren(link);
}

function showFailed(element) {
  const tag = document.createElement("strong");
  tag.className = "nhsuk-tag nhsuk-tag--red";
  tag.textContent = "Could not be prepared";
  element.replaceChildren(tag);
}

async function poll(element, count) {
  try {
    const response = await fetch(element.dataset.letterStatusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) {
      const data = await response.json();
      if (data.status === "ready" && data.download_url) {
        showReady(element, data);
        return;
      }
      if (data.status === "failed") {
        showFailed(element);
        return;
      }
    }
  } catch {
    // A network blip: try again on the next tick.
  }
  if (count < GIVE_UP_AFTER) {
    setTimeout(() => poll(element, count + 1), POLL_MS);
  } else {
    const hint = element.querySelector("[data-letter-hint]");
    if (hint) hint.textContent = "Refresh this page to check.";
  }
}

export function initLetterStatus(root = document) {
  for (const element of root.querySelectorAll("[data-letter-status-url]")) {
    const hint = element.querySelector("[data-letter-hint]");
    if (hint) hint.textContent = "This will update when the letter is ready.";
    setTimeout(() => poll(element, 1), POLL_MS);
  }
}

initLetterStatus();
