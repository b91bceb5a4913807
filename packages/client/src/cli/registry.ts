import type { Command } from './command.js';
import { clusterCommand } from './commands/cluster.js';
import { delCommand } from './commands/del.js';
import { getCommand } from './commands/get.js';
import { putCommand } from './commands/put.js';
import { repairCommand } from './commands/repair.js';
import { rulesCommand } from './commands/rules.js';
import { statusCommand } from './commands/status.js';

/**
 * The registry of `qkv` commands, in the order `qkv --help` lists them. A new command is a file
 * under `commands/` exporting a {@link Command}, plus one import and one entry here.
 */
export const COMMANDS: readonly Command[] = [getCommand, putCommand, delCommand, statusCommand, clusterCommand, repairCommand, rulesCommand];
