/**
 * `raftlock token create --role ROLE [--name NAME]` (docs/operations.md#client-tokens): mints a
 * random client token and prints it once, with the `clientTokens` entry (its hash and role) to
 * put in the cluster configuration. The configuration never holds the token itself.
 */
import { Option, type Command } from 'commander';
import { hashToken, newToken, ROLES, type Role } from '../../server/index.js';

/** Registers `token …` on `program`. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('client tokens: mint one with a role');
  token
    .command('create')
    .description('print a new random client token and the clientTokens entry (hash and role) for the configuration')
    .addOption(new Option('--role <role>', 'what the token may do').choices([...ROLES]).makeOptionMandatory())
    .option('--name <name>', 'a name for logs and errors (default: the role and a random suffix)')
    .option('--json', 'machine-readable output', false)
    .action((opts: { role: Role; name?: string; json: boolean }) => {
      const secret = newToken();
      const entry = { name: opts.name ?? `${opts.role}-${secret.slice(-6)}`, role: opts.role, hash: hashToken(secret) };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ token: secret, entry })}\n`);
        return;
      }
      process.stdout.write(
        `token: ${secret}\n` +
          `Give it to the client (--token, RAFTLOCK_TOKEN, or connect({ token })); it is not shown again.\n` +
          `Add this entry to "clientTokens" in the configuration of every node, then restart them one by one:\n` +
          `  ${JSON.stringify(entry)}\n`,
      );
    });
}
