import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The bundle is embedded in the aurora binary (gateway/build.rs); hashed file names under
// assets/ let the gateway cache them for a year.
export default defineConfig({
  plugins: [preact()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, target: "es2022" },
});
