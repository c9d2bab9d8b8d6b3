import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { applyTextSize, getTextSize } from "./lib/textSize";

// 大字号 before the first paint.
applyTextSize(getTextSize());

const target = document.getElementById("app");
if (!target) throw new Error("#app missing from index.html");

export default mount(App, { target });
