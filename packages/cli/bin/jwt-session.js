#!/usr/bin/env node
// The published entry: dist/ is built on pack. In the workspace, run src/bin.ts with tsx instead.
import '../dist/bin.js';
