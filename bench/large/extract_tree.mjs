// Writes out the file tree a YoWASP package bundles in gen/resources-*.js
// (`export const filesystem = { share: { "name": "text" | URL | {...} } }`),
// so the WASI program finds its share/ files through a granted directory.
// Usage: node extract_tree.mjs RESOURCES.js OUTDIR
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const [resources, outdir] = process.argv.slice(2);
if (!resources || !outdir) {
  console.error('usage: node extract_tree.mjs RESOURCES.js OUTDIR');
  process.exit(2);
}
const { filesystem } = await import(pathToFileURL(resources).href);
let files = 0;
function write(node, dir) {
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(node)) {
    if (name.includes('/') || name === '..' || name === '.') throw new Error(`bad name ${name}`);
    const path = join(dir, name);
    if (typeof value === 'string' || value instanceof Uint8Array) {
      writeFileSync(path, value);
      ++files;
    } else if (value instanceof URL) {
      copyFileSync(fileURLToPath(value), path);
      ++files;
    } else if (value && typeof value === 'object') {
      write(value, path);
    } else {
      throw new Error(`${path}: unexpected entry ${typeof value}`);
    }
  }
}
write(filesystem, outdir);
console.error(`extract_tree: ${files} files under ${outdir}`);
