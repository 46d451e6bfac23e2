#!/usr/bin/env node
// Test-only: a Python virtual environment holding the published Python port of
// the decision log (PyPI `agentguard-spend`, pinned below), for the
// cross-runtime parity test. Nothing here ships in the package.
//
//   node scripts/parity-venv.mjs          # create or reuse it, print the python path
//   node scripts/parity-venv.mjs 0.2.1    # the same for an older release the port still has on disk
//
// The venv is cached under node_modules/.cache/agentguard-parity-venv (or
// $AGENTGUARD_PARITY_VENV) and rebuilt when the pinned version changes; other
// versions get their own venv next to it (agentguard-parity-venv-<version>).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The port version the parity test is pinned to. */
export const PYTHON_PORT_PACKAGE = 'agentguard-spend';
export const PYTHON_PORT_VERSION = '0.16.0';
/**
 * Older releases whose on-disk logs must verify too: 0.2.1 is the last one
 * before builder codes, writing the original file-store format.
 */
export const PYTHON_PORT_OLDER_VERSIONS = ['0.2.1'];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the venv of `version` (default: the pinned one) lives. */
export function parityVenvDir(version = PYTHON_PORT_VERSION) {
  const base = process.env.AGENTGUARD_PARITY_VENV ?? join(root, 'node_modules', '.cache', 'agentguard-parity-venv');
  return version === PYTHON_PORT_VERSION ? base : `${base}-${version}`;
}

function run(cmd, args, timeoutMs) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
}

function describe(err) {
  const e = /** @type {{ message?: string, stderr?: string }} */ (err);
  return `${e.message ?? err}${e.stderr ? `\n${String(e.stderr).trim().split('\n').slice(-8).join('\n')}` : ''}`;
}

/**
 * Creates (or reuses) the venv with the port installed from PyPI: the pinned
 * version, or `version`.
 * Returns `{ python }` or `{ error }` naming which step failed (no Python 3,
 * venv creation, or the pip install, e.g. when PyPI is unreachable).
 * @returns {{ python: string, reused: boolean } | { error: string }}
 */
export function ensureParityVenv(version = PYTHON_PORT_VERSION) {
  const dir = parityVenvDir(version);
  const python = join(dir, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
  const marker = join(dir, 'agentguard-parity.json');
  const want = `${PYTHON_PORT_PACKAGE}==${version}`;
  if (existsSync(python) && existsSync(marker)) {
    try {
      if (JSON.parse(readFileSync(marker, 'utf8')).requirement === want) {
        run(python, ['-c', 'import agentguard_spend'], 60_000);
        return { python, reused: true };
      }
    } catch {
      // fall through and rebuild
    }
  }
  const base = process.env.PYTHON ?? 'python3';
  try {
    run(base, ['--version'], 30_000);
  } catch (err) {
    return { error: `no Python 3 interpreter (${base}): ${describe(err)}` };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  try {
    run(base, ['-m', 'venv', dir], 120_000);
  } catch (err) {
    return { error: `could not create a venv with ${base} -m venv: ${describe(err)}` };
  }
  try {
    run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', '--timeout', '30', '--retries', '1', want], 300_000);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { error: `pip install ${want} failed (is PyPI reachable?): ${describe(err)}` };
  }
  writeFileSync(marker, JSON.stringify({ requirement: want, createdAt: new Date().toISOString() }));
  return { python, reused: false };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = ensureParityVenv(process.argv[2] ?? PYTHON_PORT_VERSION);
  if ('error' in r) {
    console.error(r.error);
    process.exit(1);
  }
  console.log(r.python);
}
