// Bundles the demo page into dist/: dist/index.html and dist/demo.js. The
// browser suite serves the same files. Usage: node build.mjs
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));

/** build writes dist/ and returns its path. */
export async function build() {
  const dist = join(root, "dist");
  await mkdir(dist, { recursive: true });
  await esbuild.build({
    entryPoints: [join(root, "src/demo.ts")],
    outfile: join(dist, "demo.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    sourcemap: true,
    logLevel: "warning",
  });
  await copyFile(join(root, "demo/index.html"), join(dist, "index.html"));
  return dist;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dist = await build();
  console.log(`build: wrote ${dist}`);
}
