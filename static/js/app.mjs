// Progressive enhancement only: every journey works without this file.
import { initAll } from "../compiled/nhsuk-frontend.min.js";

initAll();
