#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { runDemo } from './demo.js';
import { CliError } from './errors.js';
import { keygen } from './keygen.js';
import { registerReplayCommand } from './replay-command.js';
import { runReport } from './report-command.js';
import { runRotateKey, type RotateKeyCommandOptions } from './rotate-key-command.js';
import { runVerify, type VerifyCommandOptions } from './verify-command.js';

const { version } = pkg as { version: string };

const program = new Command()
  .name('agentguard-spend')
  .description('Keys, verification, reports, policy replay and an offline demo for agentguard-spend decision logs.')
  .version(version, '-V, --version')
  .showSuggestionAfterError()
  .exitOverride();

program
  .command('keygen')
  .description('Create an Ed25519 signing key: the private seed (hex) in <file> with mode 0600, the public key (hex) in <file>.pub; prints the public key.')
  .option('-o, --out <file>', 'private key file to write', 'agentguard-signing.key')
  .option('-f, --force', 'overwrite existing key files')
  .action(async (opts: { out: string; force?: boolean }) => {
    const r = await keygen(opts);
    process.stdout.write(`${r.publicKeyHex}\n`);
    process.stderr.write(`wrote private key to ${r.privateKeyFile} (mode 0600, keep it secret) and public key to ${r.publicKeyFile}\n`);
  });

const collect = (value: string, previous: string[] = []) => [...previous, value];

program
  .command('verify')
  .description(
    'Verify every chain in a decision log directory (or one file): per chain, the entries and the first bad sequence and why. ' +
      'Holds each chain against its signed checkpoints (<chainId>.checkpoints.jsonl found next to it in the directory, and any given) to detect a cut-off tail (truncated), a rewritten history (fork) and a swapped log (swapped_log); follows key rotations from the first public key. ' +
      'Exit 0 only if all chains are intact.',
  )
  .argument('<path>', 'log directory or .jsonl file; or OTLP JSON log files as an OpenTelemetry Collector stored them (a file or a directory, gzip or not)')
  .option('-k, --public-key <hex|file>', "the chain's first public key: 64 hex characters, or a file holding them")
  .option('--trusted-key <hex|file>', 'another key the auditor trusts (repeatable): a chain may start with it, and it may vouch for checkpoints', collect)
  .option('--checkpoints <file|dir>', 'checkpoints to verify against (repeatable): a JSONL file, or a directory of *.checkpoints.jsonl', collect)
  .option('--no-auto-checkpoints', 'ignore the *.checkpoints.jsonl files found next to the chains')
  .option('--json', 'print JSON')
  .action(async (path: string, opts: VerifyCommandOptions) => {
    process.exitCode = await runVerify(path, opts);
  });

program
  .command('rotate-key')
  .description(
    'Hand a resting chain (no process writing it) over to a new signing key: append a signer_change entry signed by the current key, and a checkpoint of it. ' +
      'Refuses a chain locked by a live process: a running process rotates with SpendGuard.rotateSigningKey. Exit 3 when locked.',
  )
  .argument('<log dir>', 'the log directory')
  .option('--key <file>', 'the current private key file (the key signing the chain now)')
  .option('--new-key <file>', 'the new private key file (from keygen)')
  .option('--new-public-key <hex|file>', 'instead of --new-key: only the new public key, when its private key lives elsewhere')
  .option('--chain <chainId>', 'the chain to rotate (file-name id); needed when the directory holds several')
  .option('--reason <text>', 'why the key changes, recorded in the signed entry', 'key rotation (agentguard-spend rotate-key)')
  .action(async (dir: string, opts: RotateKeyCommandOptions) => {
    process.exitCode = await runRotateKey(dir, opts);
  });

program
  .command('report')
  .description('What the decisions did and, for shadow decisions, what enforcement would have done: counts and cents by day, policy and scope.')
  .argument('<dir>', 'log directory or .jsonl file')
  .option('--json', 'print JSON (cents as integers)')
  .action(async (dir: string, opts: { json?: boolean }) => {
    process.exitCode = await runReport(dir, opts);
  });

registerReplayCommand(program);

program
  .command('demo')
  .description(
    'Offline demo: a fake provider on 127.0.0.1, a sample policy, an agent run under --require agentguard-spend/register (allowed, downgraded, blocked), then verify and report.',
  )
  .option('-d, --dir <dir>', 'where to write the key, policy and log (default: a new temp directory)')
  .action(async (opts: { dir?: string }) => {
    process.exitCode = await runDemo(opts);
  });

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander has already printed any usage error.
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    } else if (err instanceof CliError) {
      const command = program.args[0] ? ` ${program.args[0]}` : '';
      process.stderr.write(`agentguard-spend${command}: error: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`agentguard-spend: error: ${(err as Error).message}\n`);
      process.exitCode = 2;
    }
  }
}

void main();
