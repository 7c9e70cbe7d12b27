#!/usr/bin/env node
// The `ialp` command; the implementation is compiled to ../dist by `npm run build`.
await import('../dist/cli.js');
