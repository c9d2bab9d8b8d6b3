/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";

// Tests run Svelte in jsdom: they need Svelte's browser build, not its SSR build.
const inVitest = process.env.VITEST !== undefined;

export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  // The Tauri window loads the dev server on a fixed port; a silent fallback port would break it.
  server: { port: 5173, strictPort: true },
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
  },
  resolve: inVitest ? { conditions: ["browser"] } : undefined,
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
