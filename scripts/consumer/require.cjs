// CommonJS consumer: require() of every entry of every installed
// @jwt-session package (Node >= 20.19 loads ESM through require() when the
// graph has no top-level await). `./testing` is left out: it needs the
// optional peer uvu, which this app does not install.
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const scope = join(__dirname, 'node_modules', '@jwt-session');
let failed = 0;
for (const name of readdirSync(scope)) {
  const manifest = JSON.parse(readFileSync(join(scope, name, 'package.json'), 'utf8'));
  for (const entry of Object.keys(manifest.exports ?? { '.': null })) {
    if (entry === './testing' || entry === './package.json') continue;
    const specifier = entry === '.' ? manifest.name : `${manifest.name}/${entry.slice(2)}`;
    try {
      const loaded = require(specifier);
      const names = Object.keys(loaded).filter((key) => key !== 'default' && key !== '__esModule');
      if (names.length === 0) throw new Error('no exports');
      console.log(`ok - require('${specifier}') → ${names.length} exports`);
    } catch (error) {
      failed++;
      console.log(`not ok - require('${specifier}'): ${error.code ?? ''} ${error.message.split('\n')[0]}`);
    }
  }
}
process.exit(failed > 0 ? 1 : 0);
