// Progressive enhancement only: every journey works without this file.
import { initAll } from "./nhsuk-frontend.min.js";
// Served from static/js/ (the build copies only app.mjs into compiled/).
import "../js/letters.mjs";
import "../js/letter_bundles.mjs";

initAll();
