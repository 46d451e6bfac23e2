// The ESM face of the start-up bundle (`register-main.cjs`), for whoever imports
// the built file directly. Copied to dist/register-main.js as is. The package's
// `agentguard-spend/register` is the preload (register.js / register.cjs).
import { createRequire } from 'node:module';

const main = createRequire(import.meta.url)('./register-main.cjs');

/** What register set up in this process (see `Registration`), or null. */
export const registration = main.registration;
export const EXIT_CONFIG = main.EXIT_CONFIG;
