#!/usr/bin/env node
'use strict';
// plan-runner command-line entry point: a thin shim over the compiled CLI.
const fs = require('fs');
const path = require('path');

const cli = path.join(__dirname, '..', 'dist', 'src', 'client', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('plan-runner is not built: run ./temporal-dev.sh install (or npm run build)');
  process.exit(1);
}
require(cli).main(process.argv);
