#!/usr/bin/env node
// The command's entry, outside dist/ so that a workspace install can link it before the first build
// (pnpm links bins at install time; a bin inside dist/ did not exist yet and was never linked).
import '../dist/bin.js';
